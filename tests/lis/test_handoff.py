"""The 24-hour credential handoff (design.md, *Credential handoff*; issue 8 §2–§4, §7): the crypto,
the page, reveal/confirm/expiry, rotation and compromise, suspension, a real HTTP run of the whole
workflow, and the proof that the plain secret reaches neither the database nor any log."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from lis.integrations import crypto
from lis.integrations.handoff import handoffs_expire
from lis.integrations.services import (
    ReasonRequired,
    credentials_issue,
    credentials_rotate,
    integration_resume,
    integration_suspend,
)
from lis.models import (
    ClientState,
    CredentialHandoff,
    EventKind,
    HandoffOutcome,
    Integration,
    IntegrationClient,
    IntegrationStatus,
)
from lis.publication import publish_school
from lis.tasks import expire_handoffs
from tests import factories as f
from tests.lis.publication_fixtures import small_school

from .integration_steps import (
    API,
    HANDOFF_URL,
    PUBLIC_BASE_URL,
    TOKEN_URL,
    accepted,
    access_token,
    api_get,
    basic,
    committed,
    confirm,
    issued,
    reveal,
    shown,
    token_of,
    token_request,
)

UNAVAILABLE = "This link has expired or is not valid."


@pytest.fixture(autouse=True)
def _https_and_fresh_counters(settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def creds(school_a, support):
    """Credentials just issued for school A's integration (status *credentials issued*)."""
    return issued(school_a, actor=support)


def revealed(client, creds) -> tuple[str, str]:
    """Reveal ``creds``'s link; return (client id, secret) as the page shows them."""
    page = reveal(client, token_of(creds.link)).content.decode()
    return shown(page, "client-id"), shown(page, "client-secret")


def activate(client, creds) -> None:
    revealed(client, creds)
    assert confirm(client, token_of(creds.link)).status_code == 200


# --- crypto -----------------------------------------------------------------------------------------


def test_seal_opens_only_with_its_token_and_client_id():
    token = crypto.new_token()
    sealed = crypto.seal("the secret", token=token, client_id="abc")
    assert b"the secret" not in sealed and len(sealed) > crypto.NONCE_BYTES
    assert crypto.unseal(sealed, token=token, client_id="abc") == "the secret"
    with pytest.raises(crypto.HandoffTokenInvalid):
        crypto.unseal(sealed, token=crypto.new_token(), client_id="abc")
    with pytest.raises(crypto.HandoffTokenInvalid):
        crypto.unseal(sealed, token=token, client_id="another client")
    with pytest.raises(crypto.HandoffTokenInvalid):
        crypto.unseal(b"", token=token, client_id="abc")
    assert crypto.seal("the secret", token=token, client_id="abc") != sealed  # a fresh nonce every time


def test_tokens_travel_as_43_url_safe_characters():
    token = crypto.new_token()
    text = crypto.encode_token(token)
    assert len(text) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert crypto.decode_token(text) == token
    assert crypto.decode_token("#" + text) == token
    for bad in ("", "abc", text[:-1] + "!", "A" * 64, crypto.encode_token(b"short")):
        with pytest.raises(crypto.HandoffTokenInvalid):
            crypto.decode_token(bad)
    assert crypto.token_digest(token) == hashlib.sha256(token).hexdigest()


def test_links_are_https_unless_debug(settings):
    token = crypto.new_token()
    assert crypto.handoff_link(token) == f"{PUBLIC_BASE_URL}/handoff/#{crypto.encode_token(token)}"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    with pytest.raises(ImproperlyConfigured):
        crypto.handoff_link(token)
    settings.DEBUG = True  # the local demo
    assert crypto.handoff_link(token).startswith("http://127.0.0.1:8000/handoff/#")


# --- issuing ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_issuing_stores_a_hash_a_ciphertext_and_a_digest_and_emails_only_the_link(creds):
    handoff = creds.handoff
    application = Application.objects.get(client_id=creds.client_id)
    identify_hasher(application.client_secret)  # a one-way hash, not the secret
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    stored = CredentialHandoff.objects.get(pk=handoff.pk)
    token = crypto.decode_token(token_of(creds.link))
    assert stored.token_sha256 == hashlib.sha256(token).hexdigest()
    assert creds.client_secret.encode() not in bytes(stored.ciphertext)
    assert crypto.unseal(stored.ciphertext, token=token, client_id=creds.client_id) == creds.client_secret
    assert stored.expires_at - stored.created_at == dt.timedelta(hours=24)
    assert stored.client.state == ClientState.PENDING
    assert "client_secret" not in repr(creds) and creds.client_secret not in repr(creds) and creds.link not in repr(creds)

    (message,) = mail.outbox
    assert message.to == ["kim@contoso.example"]
    bodies = [message.body, *(content for content, _ in message.alternatives)]
    assert all(creds.link in body for body in bodies)
    assert not any(creds.client_secret in body or creds.client_id in body for body in bodies)


# --- the page -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_the_link_shows_only_a_button(client, creds):
    response = client.get(HANDOFF_URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Show the connection details" in page and 'method="post"' in page
    assert creds.client_id not in page and creds.client_secret not in page
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"
    assert not CredentialHandoff.objects.filter(reveal_count__gt=0).exists()  # a prefetch burns nothing


@pytest.mark.django_db
def test_reveal_shows_everything_sds_needs_and_is_logged_with_the_ip(client, creds):
    response = reveal(client, token_of(creds.link), REMOTE_ADDR="203.0.113.7")
    page = response.content.decode()
    assert response.status_code == 200
    assert shown(page, "client-id") == creds.client_id
    assert shown(page, "client-secret") == creds.client_secret
    assert shown(page, "token-url") == f"{PUBLIC_BASE_URL}/oauth/token/"
    assert shown(page, "base-url") == f"{PUBLIC_BASE_URL}/ims/oneroster/v1p1"
    assert shown(page, "scope").split() == Integration.objects.get().scopes
    assert "I have entered these in SDS" in page and "sds.microsoft.com" in page
    assert "no-store" in response["Cache-Control"]
    handoff = CredentialHandoff.objects.get()
    assert handoff.reveal_count == 1 and handoff.revealed_ip == "203.0.113.7" and handoff.revealed_at
    event = handoff.events.get(kind=EventKind.REVEALED)
    assert event.ip == "203.0.113.7" and event.actor is None


@pytest.mark.django_db
def test_behind_a_proxy_the_reveal_is_logged_with_the_forwarded_address(client, creds, settings):
    settings.TRUSTED_PROXIES = 1
    reveal(client, token_of(creds.link), REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    handoff = CredentialHandoff.objects.get()
    assert handoff.revealed_ip == "203.0.113.7"
    assert handoff.events.get(kind=EventKind.REVEALED).ip == "203.0.113.7"


def test_revealing_twice_shows_the_same_secret_and_logs_both(client, creds):
    first = revealed(client, creds)
    second = revealed(client, creds)
    assert first == second == (creds.client_id, creds.client_secret)
    handoff = CredentialHandoff.objects.get()
    assert handoff.reveal_count == 2 and handoff.outcome == HandoffOutcome.OPEN
    assert handoff.events.filter(kind=EventKind.REVEALED).count() == 2


@pytest.mark.django_db
def test_confirming_activates_the_integration_and_kills_the_link(client, creds):
    token = token_of(creds.link)
    assert confirm(client, token).status_code == 409  # not revealed yet
    revealed(client, creds)
    response = confirm(client, token, REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 200 and "now active" in response.content.decode()
    integration = Integration.objects.get()
    assert integration.status == IntegrationStatus.ACTIVE and integration.active_since
    handoff = CredentialHandoff.objects.get()
    assert handoff.outcome == HandoffOutcome.CONFIRMED and bytes(handoff.ciphertext) == b""
    assert handoff.client.state == ClientState.CURRENT
    assert handoff.events.get(kind=EventKind.CONFIRMED).ip == "203.0.113.8"
    again = reveal(client, token)
    assert again.status_code == 404 and UNAVAILABLE in again.content.decode()
    assert confirm(client, token).status_code == 404


@pytest.mark.django_db
def test_wrong_malformed_expired_and_used_tokens_look_the_same(client, creds, school_b, support):
    unknown = reveal(client, crypto.encode_token(crypto.new_token()))
    malformed = reveal(client, "not a token")
    missing = client.post(HANDOFF_URL, {"action": "reveal"})
    used = issued(school_b, actor=support, contact="lee@fabrikam.example")
    activate(client, used)
    confirmed = reveal(client, token_of(used.link))
    CredentialHandoff.objects.filter(pk=creds.handoff.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = reveal(client, token_of(creds.link))
    responses = [unknown, malformed, missing, confirmed, expired]
    assert {r.status_code for r in responses} == {404}
    assert len({r.content for r in responses}) == 1
    assert UNAVAILABLE in unknown.content.decode() and "ask" in unknown.content.decode().lower()


@pytest.mark.django_db
def test_wrong_tokens_are_rate_limited_per_address(client, creds, settings):
    settings.LIS = {**settings.LIS, "HANDOFF_FAILURES_PER_MINUTE": 3}
    for _ in range(3):
        assert reveal(client, crypto.encode_token(crypto.new_token())).status_code == 404
    limited = reveal(client, token_of(creds.link))  # even a good token, once the address is over the limit
    assert limited.status_code == 429 and UNAVAILABLE in limited.content.decode()
    assert 1 <= int(limited["Retry-After"]) <= 60  # the failure window is one minute
    assert creds.client_secret not in limited.content.decode()
    assert reveal(client, token_of(creds.link), REMOTE_ADDR="198.51.100.2").status_code == 200


@pytest.mark.django_db
def test_after_24_hours_the_link_is_dead_and_the_ciphertext_erased(client, creds, monkeypatch):
    later = timezone.now() + dt.timedelta(hours=24, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = reveal(client, token_of(creds.link))
    assert response.status_code == 404 and UNAVAILABLE in response.content.decode()
    handoff = CredentialHandoff.objects.get()
    assert handoff.outcome == HandoffOutcome.EXPIRED and bytes(handoff.ciphertext) == b"" and handoff.closed_at == later
    assert handoff.events.filter(kind=EventKind.EXPIRED).exists()
    # Never revealed, so nobody can know that secret: its client is retired.
    assert handoff.client.state == ClientState.RETIRED and not Application.objects.exists()


@pytest.mark.django_db
def test_the_hourly_task_expires_due_handoffs(client, creds, school_b, support):
    other = issued(school_b, actor=support, contact="lee@fabrikam.example")
    revealed(client, other)
    assert expire_handoffs() == 0
    CredentialHandoff.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert expire_handoffs() == 2
    assert set(CredentialHandoff.objects.values_list("outcome", "ciphertext")) == {(HandoffOutcome.EXPIRED, b"")}
    # The revealed one may already be in SDS: its client keeps working.
    assert IntegrationClient.objects.get(client_id=other.client_id).state == ClientState.PENDING
    assert IntegrationClient.objects.get(client_id=creds.client_id).state == ClientState.RETIRED
    assert handoffs_expire() == 0


# --- rotation, compromise, suspension ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_resend_keeps_the_old_secret_working_until_the_new_one_is_confirmed(client, creds, support):
    activate(client, creds)
    old_token = access_token(client, creds.client_id, creds.client_secret)
    with pytest.raises(ReasonRequired):
        credentials_rotate(integration=creds.handoff.integration, actor=support)  # within the cool-down
    with committed():
        new = credentials_rotate(integration=creds.handoff.integration, actor=support, reason="contact lost the secret")
    assert new.client_id != creds.client_id and len(mail.outbox) == 2
    assert Integration.objects.get().status == IntegrationStatus.ACTIVE

    revealed(client, new)
    assert api_get(client, old_token).status_code == 200
    assert token_request(client, creds.client_id, creds.client_secret).status_code == 200
    assert api_get(client, access_token(client, new.client_id, new.client_secret)).status_code == 200

    assert confirm(client, token_of(new.link)).status_code == 200
    assert api_get(client, old_token).status_code == 401
    refused = token_request(client, creds.client_id, creds.client_secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert api_get(client, access_token(client, new.client_id, new.client_secret)).status_code == 200
    old = IntegrationClient.objects.get(client_id=creds.client_id)
    assert old.state == ClientState.RETIRED and old.application is None and old.retired_at
    assert Integration.objects.get().events.filter(kind=EventKind.RETIRED).exists()


@pytest.mark.django_db
def test_a_resend_never_cuts_off_a_working_client_whose_link_was_never_opened(client, creds, support):
    # The demo's case: the secret reached SDS another way (printed), its link was never opened.
    working = access_token(client, creds.client_id, creds.client_secret)
    new = credentials_rotate(integration=creds.handoff.integration, actor=support, reason="contact changed")
    assert api_get(client, working).status_code == 200
    assert token_request(client, creds.client_id, creds.client_secret).status_code == 200
    assert IntegrationClient.objects.get(client_id=creds.client_id).state != ClientState.RETIRED
    assert not Integration.objects.get().events.filter(kind=EventKind.RETIRED).exists()
    activate(client, new)  # the new one confirmed: only now is the old one retired
    assert api_get(client, working).status_code == 401
    assert IntegrationClient.objects.get(client_id=creds.client_id).state == ClientState.RETIRED


@pytest.mark.django_db
def test_the_handoff_page_has_copy_buttons_no_expiry_after_thanks_and_a_support_contact(client, creds, settings):
    settings.SUPPORT_EMAILS = ["help@myschool.example"]
    page = reveal(client, token_of(creds.link)).content.decode()
    for element in ("client-id", "client-secret", "token-url", "base-url", "scope"):
        assert f'data-copy="{element}"' in page
    thanks = confirm(client, token_of(creds.link)).content.decode()
    assert "is now active" in thanks and "expired" not in thanks and "help@myschool.example" in thanks
    invalid = reveal(client, "not-a-token").content.decode()
    assert "expired or is not valid" in invalid and 'href="mailto:help@myschool.example"' in invalid


@pytest.mark.django_db
def test_a_compromise_rotation_revokes_the_old_secret_and_its_tokens_at_once(client, creds, support):
    activate(client, creds)
    old_token = access_token(client, creds.client_id, creds.client_secret)
    assert api_get(client, old_token).status_code == 200
    with pytest.raises(ReasonRequired):
        credentials_rotate(integration=creds.handoff.integration, actor=support, compromised=True)
    new = credentials_rotate(
        integration=creds.handoff.integration, actor=support, reason="secret pasted in a ticket", compromised=True
    )
    assert api_get(client, old_token).status_code == 401
    assert token_request(client, creds.client_id, creds.client_secret).status_code == 401
    assert not AccessToken.objects.filter(application__client_id=creds.client_id).exists()
    integration = Integration.objects.get()
    assert integration.status == IntegrationStatus.CREDENTIALS_ISSUED
    rotated = integration.events.get(kind=EventKind.ROTATED)
    assert rotated.reason == "secret pasted in a ticket" and rotated.actor == support and "Compromise" in rotated.detail
    activate(client, new)
    assert api_get(client, access_token(client, new.client_id, new.client_secret)).status_code == 200
    assert Integration.objects.get().status == IntegrationStatus.ACTIVE


@pytest.mark.django_db
def test_suspension_answers_401_at_once_and_resuming_restores_the_credentials(client, creds, support):
    activate(client, creds)
    token = access_token(client, creds.client_id, creds.client_secret)
    integration_suspend(integration=creds.handoff.integration, actor=support, reason="school left")
    response = api_get(client, token)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    refused = token_request(client, creds.client_id, creds.client_secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    suspended = Integration.objects.get().events.get(kind=EventKind.SUSPENDED)
    assert suspended.reason == "school left" and "Access tokens revoked: 1" in suspended.detail

    integration = integration_resume(integration=creds.handoff.integration, actor=support)
    assert integration.status == IntegrationStatus.ACTIVE
    assert api_get(client, access_token(client, creds.client_id, creds.client_secret)).status_code == 200


@pytest.mark.django_db
def test_suspension_closes_open_links(client, creds, support):
    integration_suspend(integration=creds.handoff.integration, actor=support)
    assert reveal(client, token_of(creds.link)).status_code == 404
    assert CredentialHandoff.objects.get().outcome == HandoffOutcome.REVOKED
    resumed = integration_resume(integration=creds.handoff.integration, actor=support)
    assert resumed.status == IntegrationStatus.ACCEPTED  # its only client died with the unopened link
    assert credentials_issue(integration=resumed, actor=support).client_id


# --- the whole workflow over real HTTP -------------------------------------------------------------------


def _http(url: str, *, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_from_request_to_sds_pulling_over_real_http(live_server, settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    support = f.UserFactory(username="support-live", is_superuser=True)
    sample = small_school("LIV")
    publish_school(sample.school)

    integration = accepted(sample.school, actor=support)
    credentials_issue(integration=integration, actor=support)
    (message,) = mail.outbox
    link = re.search(r"https://\S+/handoff/#\S+", message.body).group(0)
    token = token_of(link)

    status, page = _http(live_server.url + HANDOFF_URL)
    assert status == 200 and "Show the connection details" in page
    status, page = _http(live_server.url + HANDOFF_URL, data={"action": "reveal", "token": token})
    assert status == 200
    client_id, secret = shown(page, "client-id"), shown(page, "client-secret")
    assert shown(page, "token-url") == f"{PUBLIC_BASE_URL}{TOKEN_URL}"

    status, body = _http(
        live_server.url + TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(client_id, secret)},
    )
    assert status == 200, body
    grant = json.loads(body)
    status, body = _http(f"{live_server.url}{API}/orgs", headers={"Authorization": f"Bearer {grant['access_token']}"})
    assert status == 200
    assert sample.school.sourced_id in [org["sourcedId"] for org in json.loads(body)["orgs"]]

    status, page = _http(live_server.url + HANDOFF_URL, data={"action": "confirm", "token": token})
    assert status == 200 and "now active" in page
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.ACTIVE
    client = IntegrationClient.objects.get(client_id=client_id)
    assert client.state == ClientState.CURRENT and client.last_token_at and client.last_request_at
    status, page = _http(live_server.url + HANDOFF_URL, data={"action": "reveal", "token": token})
    assert status == 404 and UNAVAILABLE in html.unescape(page)
    assert [e.kind for e in integration.events.order_by("at", "pk")] == [
        EventKind.REQUESTED, EventKind.FEATURES_MAPPED, EventKind.ACCEPTED, EventKind.ISSUED,
        EventKind.REVEALED, EventKind.CONFIRMED,
    ]


# --- the secret never rests in the database or a log -----------------------------------------------------


@contextmanager
def every_log_record(stream: io.StringIO):
    """Send every logger's records, DEBUG and up, to ``stream`` (SQL with its parameters included)."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        logger.addHandler(handler)
    debug_cursor, connection.force_debug_cursor = connection.force_debug_cursor, True
    try:
        yield
    finally:
        connection.force_debug_cursor = debug_cursor
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(handler)


@pytest.mark.django_db
def test_the_plain_secret_is_in_no_database_dump_and_no_log(client, school_a, support, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    logs = io.StringIO()
    secrets = []
    with every_log_record(logs):
        first = issued(school_a, actor=support)
        integration = first.handoff.integration
        for creds in (first,):
            page = reveal(client, token_of(creds.link)).content.decode()
            secrets.append(shown(page, "client-secret"))
            token = access_token(client, creds.client_id, secrets[-1])
            assert api_get(client, token).status_code == 200
            assert confirm(client, token_of(creds.link)).status_code == 200
        second = credentials_rotate(integration=integration, actor=support, reason="resend")
        secrets.append(shown(reveal(client, token_of(second.link)).content.decode(), "client-secret"))
        assert token_request(client, second.client_id, "a wrong guess").status_code == 401
        assert confirm(client, token_of(second.link)).status_code == 200
        third = credentials_rotate(integration=integration, actor=support, reason="leaked", compromised=True)
        secrets.append(third.client_secret)  # never revealed: it must still be nowhere
        integration_suspend(integration=integration, actor=support, reason="test")
        assert token_request(client, second.client_id, secrets[1]).status_code == 401
        handoffs_expire(now=timezone.now() + dt.timedelta(days=2))

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    printed = capsys.readouterr()
    assert first.client_secret == secrets[0] and second.client_secret == secrets[1]
    assert "SELECT" in logs.getvalue() and "handoff" in printed.out  # the capture did see SQL and the emails
    for secret in secrets:
        assert secret not in dump.getvalue()
        assert secret not in logs.getvalue()
        assert secret not in printed.out and secret not in printed.err


@pytest.mark.django_db
def test_the_handoff_email_is_sent_only_when_the_issue_commits(school_a, support):
    integration = accepted(school_a, actor=support)
    with committed():
        creds = credentials_issue(integration=integration, actor=support)
        assert not mail.outbox  # the handoff and the status change are not committed yet
    (message,) = mail.outbox
    assert creds.link in message.body
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        credentials_rotate(integration=integration, actor=support, reason="resend", compromised=True)
        raise RuntimeError("the request fails after the rotation")
    assert len(mail.outbox) == 1  # rolled back: no link to a secret that was never stored

