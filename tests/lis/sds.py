"""SDS as the tests see it: a client-credentials token and full or delta pulls, over real HTTP.

:class:`SDS` talks to a ``live_server`` URL with ``urllib`` (or, given a Django test ``Client``,
in-process), pages with ``limit``/``offset`` until ``X-Total-Count`` is reached, and returns
``{sourcedId: object}`` per endpoint, like SDS's own bookkeeping.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from lis.models import Integration
from tests.oneroster_api import published as p

BASE = "/ims/oneroster/v1p1"
SECRET = "sds-secret-value"


@dataclass
class Answer:
    status: int
    headers: dict
    body: dict


class SDS:
    """One SDS client of ``integration``; ``url`` is a live server's, or ``client`` a Django test client."""

    def __init__(self, integration: Integration, *, url: str = "", client=None):
        self.application = p.oauth_client(integration, secret=SECRET, name=f"SDS {integration.name}")
        self.url, self.client = url, client
        self.access_token = ""

    def _basic(self) -> str:
        raw = f"{self.application.client_id}:{SECRET}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def request_token(self) -> Answer:
        """POST the token URL with HTTP Basic, as SDS does; keeps the token on success."""
        data = {"grant_type": "client_credentials"}
        if self.client is not None:
            response = self.client.post("/oauth/token/", data, HTTP_AUTHORIZATION=self._basic())
            answer = Answer(response.status_code, dict(response.headers), json.loads(response.content))
        else:
            request = urllib.request.Request(
                f"{self.url}/oauth/token/",
                data=urllib.parse.urlencode(data).encode(),
                headers={"Authorization": self._basic(), "Content-Type": "application/x-www-form-urlencoded"},
                method="POST",
            )
            answer = _open(request)
        if answer.status == 200:
            self.access_token = answer.body["access_token"]
        return answer

    def get(self, path: str, **params) -> Answer:
        if not self.access_token:
            assert self.request_token().status == 200
        headers = {"Authorization": f"Bearer {self.access_token}"}
        if self.client is not None:
            response = self.client.get(f"{BASE}/{path}", params, HTTP_AUTHORIZATION=headers["Authorization"])
            return Answer(response.status_code, dict(response.headers), json.loads(response.content))
        query = urllib.parse.urlencode(params)
        return _open(urllib.request.Request(f"{self.url}{BASE}/{path}?{query}", headers=headers))

    def pull(self, endpoint: str, *, since: str | None = None, page: int = 1000) -> dict[str, dict]:
        """Every object of ``endpoint`` (``dateLastModified>'since'`` when given): sourcedId → object."""
        params = {"limit": page}
        if since is not None:
            params["filter"] = f"dateLastModified>'{since}'"
        objects: dict[str, dict] = {}
        offset = 0
        while True:
            answer = self.get(endpoint, offset=offset, **params)
            assert answer.status == 200, answer.body
            wrapper = next(iter(answer.body))
            for obj in answer.body[wrapper]:
                objects[obj["sourcedId"]] = obj
            offset += page
            if offset >= int(answer.headers["X-Total-Count"]):
                return objects


def _open(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers), json.load(response))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), json.load(error))
