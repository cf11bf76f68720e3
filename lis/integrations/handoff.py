"""The key contact's side of the credential handoff: reveal and confirm on the handoff page, and expiry.

The page needs no login: holding the link's token is the whole authority, so every function
here takes the token as text and answers :class:`HandoffUnavailable` — the same for an unknown,
malformed, expired, confirmed or revoked token — whenever it cannot be used. Revealing again is
allowed (each reveal logged with its IP) until the contact confirms or the link expires; then
the ciphertext is erased and the link is dead for good. See :mod:`.services` for the workflow
and :mod:`.crypto` for the token and the encryption.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from lis.models import ClientState, CredentialHandoff, EventKind, HandoffOutcome, Integration, IntegrationStatus

from . import crypto
from .services import (
    TransitionRefused,
    clients_retire,
    event_record,
    handoff_close,
    integration_locked,
    integration_status_set,
)

logger = logging.getLogger(__name__)


class HandoffUnavailable(Exception):
    """The handoff token is unknown, malformed, expired, confirmed or revoked — deliberately not saying which."""


@dataclass(frozen=True)
class RevealedCredentials:
    """What the handoff page shows after a reveal; the secret lives in memory for this response only."""

    integration: Integration
    handoff: CredentialHandoff
    client_id: str
    client_secret: str = field(repr=False)


def _usable(token_text: str, now: dt.datetime) -> tuple[CredentialHandoff, bytes] | None:
    """The open, unexpired handoff ``token_text`` opens, locked; expires it on the way if its time is up."""
    try:
        token = crypto.decode_token(token_text)
    except crypto.HandoffTokenInvalid:
        return None
    handoff = (
        CredentialHandoff.objects.select_for_update(of=("self",))
        .select_related("integration", "client__integration")
        .filter(token_sha256=crypto.token_digest(token))
        .first()
    )
    if handoff is None or handoff.outcome != HandoffOutcome.OPEN:
        return None
    if handoff.expires_at <= now:
        _expire(handoff, now=now)
        return None
    if handoff.integration.status == IntegrationStatus.SUSPENDED:
        return None
    return handoff, token


def handoff_reveal(*, token: str, ip: str | None, now: dt.datetime | None = None) -> RevealedCredentials:
    """Open the handoff ``token`` belongs to and return its client id and secret; log the reveal with ``ip``.

    Revealing again is allowed (and logged) until confirmation or expiry. Raises
    :class:`HandoffUnavailable`, saying nothing more, for any token that cannot be revealed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        found = _usable(token, now)
        if found is not None:
            handoff, raw = found
            try:
                secret = crypto.unseal(handoff.ciphertext, token=raw, client_id=handoff.client.client_id)
            except crypto.HandoffTokenInvalid:
                logger.error("Credential handoff %s: ciphertext does not open with its own token", handoff.pk)
                raise HandoffUnavailable() from None
            handoff.revealed_at = handoff.revealed_at or now
            handoff.revealed_ip = ip
            handoff.reveal_count += 1
            handoff.save(update_fields=["revealed_at", "revealed_ip", "reveal_count"])
            event_record(
                handoff.integration,
                EventKind.REVEALED,
                at=now,
                ip=ip,
                handoff=handoff,
                detail=f"Client {handoff.client.client_id}, reveal {handoff.reveal_count}.",
            )
            return RevealedCredentials(handoff.integration, handoff, handoff.client.client_id, secret)
    raise HandoffUnavailable()


def handoff_confirm(*, token: str, ip: str | None, now: dt.datetime | None = None) -> CredentialHandoff:
    """The key contact's "I have entered these in SDS": the handoff's client becomes *current*,
    every other client of the integration is retired, the integration is *active*, the link dies.

    Raises :class:`HandoffUnavailable` for a token that cannot be used, and
    :class:`TransitionRefused` when the credentials were never revealed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        found = _usable(token, now)
        if found is not None:
            handoff, _ = found
            if handoff.revealed_at is None:
                raise TransitionRefused("Reveal the credentials before confirming them.")
            integration = integration_locked(handoff.integration)
            handoff_close(handoff, HandoffOutcome.CONFIRMED, now=now)
            client = handoff.client
            client.state = ClientState.CURRENT
            client.save(update_fields=["state"])
            event_record(
                integration, EventKind.CONFIRMED, at=now, ip=ip, handoff=handoff, detail=f"Client {client.client_id}."
            )
            clients_retire(
                integration.clients.exclude(pk=client.pk)
                .exclude(state=ClientState.RETIRED)
                .select_related("integration"),
                now=now,
                actor=None,
                reason="",
                detail=f"Replaced by client {client.client_id}.",
            )
            integration_status_set(integration, IntegrationStatus.ACTIVE, active_since=now, silence_alerted_at=None)
            return handoff
    raise HandoffUnavailable()


def _expire(handoff: CredentialHandoff, *, now: dt.datetime) -> None:
    handoff_close(handoff, HandoffOutcome.EXPIRED, now=now)
    event_record(
        handoff.integration,
        EventKind.EXPIRED,
        at=now,
        handoff=handoff,
        detail=f"Client {handoff.client.client_id}; revealed {handoff.reveal_count} time(s).",
    )


@transaction.atomic
def handoffs_expire(*, now: dt.datetime | None = None) -> int:
    """Expire every open handoff whose time is up: erase its ciphertext and log it. Returns how many."""
    now = now or timezone.now()
    due = (
        CredentialHandoff.objects.select_for_update(of=("self",))
        .select_related("integration", "client__integration")
        .filter(outcome=HandoffOutcome.OPEN, expires_at__lte=now)
    )
    count = 0
    for handoff in due:
        _expire(handoff, now=now)
        count += 1
    return count


