"""A small OneRoster HTTP client that behaves like SDS: client-credentials token, bearer GETs.

Uses ``requests`` only (no Django), so it talks to any deployment exactly as SDS would.
A 429 is answered like a polite client: wait ``Retry-After`` seconds (at most
:data:`MAX_RETRY_WAIT`) and try again, up to :data:`RETRIES_ON_429` times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

RETRIES_ON_429 = 3
MAX_RETRY_WAIT = 60.0


class CheckAborted(Exception):
    """The check cannot go on (no token, server unreachable); ``str(exc)`` says why."""


@dataclass
class Reply:
    """One HTTP exchange: ``body`` is the parsed JSON, or None when the body is not JSON."""

    url: str
    status: int
    headers: requests.structures.CaseInsensitiveDict
    body: object
    seconds: float
    attempts: int = 1
    error: str = ""


@dataclass
class OneRosterClient:
    """``base_url`` ends with ``/ims/oneroster/v1p1``; ``timeout`` is seconds per request."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str = ""
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)
    token: str = ""

    def fetch_token(self) -> Reply:
        """POST ``grant_type=client_credentials`` with HTTP Basic auth (§1) and keep the token.

        Raises :class:`CheckAborted` when no token comes back.
        """
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        reply = self._send("POST", self.token_url, data=data, auth=(self.client_id, self.client_secret))
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status != 200 or not body.get("access_token"):
            detail = reply.error or f"HTTP {reply.status}: {str(reply.body)[:200]}"
            raise CheckAborted(f"no access token from {self.token_url} ({detail})")
        self.token = body["access_token"]
        return reply

    def get(self, path: str, params: dict[str, str] | None = None) -> Reply:
        """GET ``base_url/path`` with ``params`` and the bearer token."""
        url = urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))
        return self._send("GET", url, params=params or {}, headers={"Authorization": f"Bearer {self.token}"})

    def _send(self, method: str, url: str, **kwargs) -> Reply:
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                seconds = time.perf_counter() - started
                return Reply(url, 0, requests.structures.CaseInsensitiveDict(), None, seconds, attempts, str(exc))
            seconds = time.perf_counter() - started
            if response.status_code == 429 and attempts <= RETRIES_ON_429:
                time.sleep(_retry_after(response.headers.get("Retry-After")))
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            return Reply(response.url, response.status_code, response.headers, body, seconds, attempts)


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), MAX_RETRY_WAIT)
    except ValueError:
        return 1.0
