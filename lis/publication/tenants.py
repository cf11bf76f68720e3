"""Tenant tombstones: every record a tenant was served reaches it as ``tobedeleted`` when it leaves its scope.

SDS learns of removals only from ``tobedeleted`` records in a ``dateLastModified>`` delta
(oneroster-1.1.md §6). A record can leave a tenant's scope while it stays in the store for
others, so the store's own tombstones would never reach that tenant:

- **a school is removed from an integration**: the tenant no longer sees any of the school's
  records, nor a district org that only this school named;
- **a district org is no longer named by any of the tenant's schools** (its school left the
  group): the org stays active for other tenants.

For these, :func:`tenant_tombstones_copy` writes a *tenant tombstone*: a copy of the record
(``PublishedObject.tenant`` = the integration's id, no ``school``, no reference rows,
``status=tobedeleted``) that only that tenant sees. An active record's copy is stamped with the
time it left the scope; a record that was already a tombstone keeps its ``dateLastModified``.
Copies are purged with the normal retention, by any school's run (they have no school). When the
school joins the integration again, or the district is named again, the tenant's copies are
deleted and the publication's own rows restamped, so the next delta returns them as active.

Demographics need no copies for *share demographics* switched off: the publication turns them
into tombstones, and a tenant sees its schools' demographics tombstones whether or not the school
shares (``oneroster_api.tenancy``). No demographics tombstone carries ``birthDate`` or ``sex``
(the publication empties their payload; copies too).

Integration membership changes reach this module through ``m2m_changed`` (any code path), and
the copies are written after that change commits, in their own transaction, under the
commit-order lock (:mod:`lis.publication.lock`). Removing a school needs support's explicit
confirmation of the counts (:mod:`lis.integrations.scope`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone

from lis.conf import lis_setting
from lis.models import Integration, Kind, PublicationRun, PublishedObject, PublishedStatus

from .lock import stamped_transaction

BATCH = 2000
ACTIVE, TOBEDELETED = PublishedStatus.ACTIVE, PublishedStatus.TOBEDELETED
COPIED_FIELDS = (
    "kind", "sourced_id", "status", "date_last_modified", "subtype", "payload", "content_hash",
    "school_ref", "course_ref", "class_ref", "user_ref", "parent_ref", "year_ref",
)


def own_rows() -> QuerySet[PublishedObject]:
    """The publication's own rows (no tenant tombstones)."""
    return PublishedObject.objects.filter(tenant=0)


def districts_visible(integration_ids: Iterable[int]) -> dict[int, set[str]]:
    """integration id → sourcedIds of the district orgs its schools' orgs name (as the API scopes them)."""
    integration_ids = list(integration_ids)
    schools: dict[int, set[int]] = {pk: set() for pk in integration_ids}
    for integration_id, school_id in Integration.schools.through.objects.filter(
        integration_id__in=integration_ids
    ).values_list("integration_id", "school_id"):
        schools[integration_id].add(school_id)
    named = dict(
        own_rows()
        .filter(kind=Kind.ORG, subtype="school", school_id__in={s for ids in schools.values() for s in ids})
        .exclude(parent_ref=None)
        .values_list("school_id", "parent_ref")
    )
    return {pk: {named[s] for s in ids if s in named} for pk, ids in schools.items()}


def tenant_tombstones_copy(
    integration_id: int, rows: QuerySet[PublishedObject], *, stamp: dt.datetime, run: PublicationRun | None = None
) -> int:
    """Copy the publication's ``rows`` as tombstones only integration ``integration_id`` sees; returns how many.

    Active rows get ``stamp``, tombstones keep their date. ``run`` (a publication run, which calls
    this in its final transaction with its commit time as ``stamp``) marks the copies as its own. Existing copies of the same
    records for this tenant are replaced. Demographics copies have an empty payload.
    """
    copied = 0
    source = rows.filter(tenant=0).order_by("pk")
    last_pk = 0
    while batch := list(source.filter(pk__gt=last_pk).values("pk", *COPIED_FIELDS)[:BATCH]):
        last_pk = batch[-1]["pk"]
        copies = []
        for row in batch:
            row.pop("pk")
            if row["status"] == ACTIVE:
                row["status"], row["date_last_modified"] = TOBEDELETED, stamp
            if row["kind"] == Kind.DEMOGRAPHICS:
                row["payload"], row["content_hash"] = {}, ""
            copies.append(PublishedObject(**row, school=None, tenant=integration_id, last_run=run))
        for kind in {c.kind for c in copies}:
            PublishedObject.objects.filter(
                tenant=integration_id, kind=kind, sourced_id__in=[c.sourced_id for c in copies if c.kind == kind]
            ).delete()
        PublishedObject.objects.bulk_create(copies, batch_size=1000)
        copied += len(copies)
    if copied:
        until = timezone.now() + dt.timedelta(days=lis_setting("TOMBSTONE_RETENTION_DAYS") + 1)
        Integration.objects.filter(pk=integration_id).update(tenant_tombstones_until=until)
    return copied


def tenant_tombstones_drop(integration_id: int, rows: QuerySet[PublishedObject]) -> int:
    """Delete the tenant's copies of the publication's ``rows`` (they are in its scope again); returns how many."""
    same = rows.filter(tenant=0, kind=OuterRef("kind"), sourced_id=OuterRef("sourced_id"))
    return PublishedObject.objects.filter(tenant=integration_id).filter(Exists(same)).delete()[0]


def _restamp(rows: QuerySet[PublishedObject], stamp: dt.datetime) -> None:
    rows.filter(tenant=0).update(date_last_modified=stamp)


def integration_schools_left(integration_id: int, school_ids: set[int], districts_before: set[str]) -> int:
    """Tombstone, for integration ``integration_id`` alone, everything of schools ``school_ids`` it was
    served, and the district orgs it no longer sees. One transaction under the commit-order lock."""
    with stamped_transaction():
        stamp = _now_ms()
        copied = tenant_tombstones_copy(integration_id, own_rows().filter(school_id__in=school_ids), stamp=stamp)
        gone = districts_before - districts_visible([integration_id])[integration_id]
        copied += tenant_tombstones_copy(
            integration_id, own_rows().filter(kind=Kind.ORG, school=None, sourced_id__in=gone), stamp=stamp
        )
        return copied


def integration_schools_joined(integration_id: int, school_ids: set[int]) -> None:
    """The schools are in integration ``integration_id``'s scope again: drop its copies, restamp their rows."""
    with stamped_transaction():
        stamp = _now_ms()
        rows = own_rows().filter(school_id__in=school_ids)
        tenant_tombstones_drop(integration_id, rows)
        _restamp(rows, stamp)
        districts = own_rows().filter(
            kind=Kind.ORG, school=None, sourced_id__in=districts_visible([integration_id])[integration_id]
        )
        if tenant_tombstones_drop(integration_id, districts):
            _restamp(districts, stamp)


def _now_ms() -> dt.datetime:
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@receiver(m2m_changed, sender=Integration.schools.through)
def _integration_schools_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Schedule tenant tombstones (or their removal) for after the membership change commits."""
    if action not in ("pre_remove", "pre_clear", "post_add"):
        return
    if action == "pre_clear":
        pairs = list(
            Integration.schools.through.objects.filter(
                **({"school_id": instance.pk} if reverse else {"integration_id": instance.pk})
            ).values_list("integration_id", "school_id")
        )
    else:
        pairs = [(pk, instance.pk) if reverse else (instance.pk, pk) for pk in pk_set or ()]
    by_integration: dict[int, set[int]] = {}
    for integration_id, school_id in pairs:
        by_integration.setdefault(integration_id, set()).add(school_id)
    if not by_integration:
        return
    if action == "post_add":
        for integration_id, school_ids in by_integration.items():
            transaction.on_commit(lambda i=integration_id, s=school_ids: integration_schools_joined(i, s))
        return
    before = districts_visible(by_integration)
    for integration_id, school_ids in by_integration.items():
        transaction.on_commit(
            lambda i=integration_id, s=school_ids, d=before[integration_id]: integration_schools_left(i, s, d)
        )
