"""Recording SDS's activity and telling support when an active integration stops pulling.

The OneRoster API records each client's last request cheaply: the tenant lookup it does anyway
reads ``last_request_at``, and only when that is more than :data:`REQUEST_RECORD_INTERVAL` old
does :func:`client_request_record` write (a conditional UPDATE) — at most one write a minute per
client, never an extra query on the other requests.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from lis.alerts import alert_support
from lis.conf import lis_setting
from lis.models import EventKind, Integration, IntegrationClient, IntegrationEvent, IntegrationStatus

from myschool.links import public_url
from myschool.synctime import sync_time

from .selectors import integrations_with_health

logger = logging.getLogger(__name__)

REQUEST_RECORD_INTERVAL = dt.timedelta(seconds=60)


def client_request_due(last_request_at: dt.datetime | None, *, now: dt.datetime | None = None) -> bool:
    """Whether a request seen now should be written (never recorded, or recorded over a minute ago)."""
    return last_request_at is None or (now or timezone.now()) - last_request_at >= REQUEST_RECORD_INTERVAL


def client_request_record(*, client_pk: int, now: dt.datetime | None = None) -> bool:
    """Set the client's ``last_request_at`` to ``now`` unless another request did within the interval
    (one conditional UPDATE). Best effort and never waiting: on SQLite, while a publication holds
    the write lock, it gives up at once (the next request records it) instead of holding the API
    request for the busy timeout; a database error is logged and ignored. Returns whether the row
    was written."""
    now = now or timezone.now()
    try:
        with _sqlite_without_waiting():
            written = (
                IntegrationClient.objects.filter(pk=client_pk)
                .filter(Q(last_request_at__isnull=True) | Q(last_request_at__lte=now - REQUEST_RECORD_INTERVAL))
                .update(last_request_at=now)
            )
    except DatabaseError:
        logger.warning("Could not record the last API request of integration client %s", client_pk, exc_info=True)
        return False
    return bool(written)


@contextmanager
def _sqlite_without_waiting():
    """On SQLite, let statements fail at once rather than wait for the write lock (PRAGMAs on the raw
    connection, so query counts stay the database-independent ones)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(previous)}")


def client_token_record(*, application_id: int, now: dt.datetime | None = None) -> None:
    """Set ``last_token_at`` of the client of OAuth application ``application_id`` (one UPDATE)."""
    IntegrationClient.objects.filter(application_id=application_id).update(last_token_at=now or timezone.now())


def integrations_silent(*, now: dt.datetime | None = None) -> list[Integration]:
    """Active integrations with no API request for ``LIS["SILENCE_ALERT_HOURS"]`` and not yet alerted
    about this silence.

    The silence is counted from the later of the last API request and ``active_since`` (an
    integration just confirmed or resumed has had no chance yet); one alert per silence: a new
    request ends it. Annotated as :func:`~.selectors.integrations_with_health`. One query.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=lis_setting("SILENCE_ALERT_HOURS"))
    silent = []
    for integration in integrations_with_health(Integration.objects.filter(status=IntegrationStatus.ACTIVE)):
        seen = max((at for at in (integration.last_request_at, integration.active_since) if at), default=None)
        seen = seen or integration.created_at
        if seen < cutoff and (integration.silence_alerted_at is None or integration.silence_alerted_at < seen):
            silent.append(integration)
    return silent


def integrations_alert_silent(*, now: dt.datetime | None = None) -> int:
    """Email support one message about every :func:`integrations_silent` integration, then remember
    (``silence_alerted_at`` and an audit event) so the same silence is not emailed again.
    Returns how many integrations the email named (0: no email)."""
    now = now or timezone.now()
    silent = integrations_silent(now=now)
    if not silent:
        return 0
    hours = lis_setting("SILENCE_ALERT_HOURS")
    lines = []
    for integration in silent:
        last = sync_time(integration.last_request_at, empty="never")
        admin_url = public_url(reverse("admin:lis_integration_change", args=[integration.pk]))
        lines.append(
            f"- {integration.name} (tenant {integration.tenant_id}, contact {integration.key_contact_name} "
            f"<{integration.key_contact_email}>): last API request {last}\n  {admin_url}"
        )
    alert_support(
        f"{len(silent)} integration(s) stopped pulling",
        f"These active integrations made no OneRoster API request in the last {hours} hours:\n\n"
        + "\n".join(lines)
        + "\n\nSDS normally pulls about twice a day. Check the sync in the school's SDS, or suspend the integration.",
    )
    with transaction.atomic():
        Integration.objects.filter(pk__in=[integration.pk for integration in silent]).update(silence_alerted_at=now)
        IntegrationEvent.objects.bulk_create(
            IntegrationEvent(
                integration=integration, kind=EventKind.SILENCE_ALERTED, at=now, detail=f"No API request for {hours} h."
            )
            for integration in silent
        )
    return len(silent)
