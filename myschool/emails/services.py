"""Writes of primary emails: every change goes through :func:`primary_emails_change` and is recorded.

One call is one :class:`~myschool.models.EmailChangeBatch` (who, when, how) with one
:class:`~myschool.models.EmailChange` (old → new) per person; :func:`email_batch_revert` undoes
a batch as a whole, as a batch of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from myschool.models import EmailChange, EmailChangeBatch, EmailChangeKind, School
from myschool.signals import school_data_changed_notify

from .conf import emails_setting
from .people import MODELS, Person, PersonKey, people_by_key
from .rules import EmailRules
from .tenant import normalize_email

UNLIMITED_PERMISSION = "myschool.bulk_update_primary_emails_unlimited"
# Kinds that may change many emails at once and are therefore limited (a mass-edit save is one page).
BULK_KINDS = frozenset({EmailChangeKind.CSV, EmailChangeKind.PATTERN, EmailChangeKind.REVERT})


class EmailChangeRefused(Exception):
    """Nothing was written. ``errors`` maps each refused person (:class:`PersonKey`) to why, if any."""

    def __init__(self, message: str, errors: Mapping[PersonKey, str] | None = None):
        super().__init__(message)
        self.errors = dict(errors or {})


def bulk_limit_error(*, count: int, user) -> str | None:
    """Why ``user`` may not change ``count`` emails at once, or None.

    Above ``MYSCHOOL_EMAILS["BULK_LIMIT"]`` a change needs ``myschool.bulk_update_primary_emails_unlimited``
    (support). ``user`` None is the server itself (a management command) and is not limited.
    """
    limit = emails_setting("BULK_LIMIT")
    if count <= limit or user is None or user.has_perm(UNLIMITED_PERMISSION):
        return None
    return f"{count} changes exceed the limit of {limit} at once for school staff; split the change or ask support."


@transaction.atomic
def primary_emails_change(
    *, school: School, changes: Mapping[PersonKey, str], user, kind: str, note: str = ""
) -> EmailChangeBatch | None:
    """Give the people of ``school`` in ``changes`` their new primary email; record it as one batch.

    Emails are normalized (:func:`~.tenant.normalize_email`) and checked by :class:`~.rules.EmailRules`;
    people whose email would not change are skipped. ``kind`` is an
    :class:`~myschool.models.EmailChangeKind`; ``user`` the Django user (None for a command).
    Returns the batch, or None when nothing changes. Atomic: raises :class:`EmailChangeRefused`,
    writing nothing, when a person is not of ``school``, an email is refused, or a bulk kind exceeds
    :func:`bulk_limit_error`.
    """
    people = people_by_key(school_id=school.pk, keys=changes, lock=True)
    unknown = {key: "Not a person of this school." for key in changes if key not in people}
    if unknown:
        raise EmailChangeRefused(f"{len(unknown)} of the people are not of {school}.", unknown)
    proposed = {key: normalize_email(email) for key, email in changes.items()}
    proposed = {key: email for key, email in proposed.items() if email != people[key].email}
    labels = {key: str(people[key]) for key in proposed}
    errors = EmailRules(school).check(proposed, labels=labels)
    if errors:
        raise EmailChangeRefused(f"{len(errors)} email(s) refused; nothing was changed.", errors)
    if kind in BULK_KINDS and (reason := bulk_limit_error(count=len(proposed), user=user)):
        raise EmailChangeRefused(reason)
    return _write(school=school, people=people, proposed=proposed, user=user, kind=kind, note=note)


def _write(
    *, school: School, people: Mapping[PersonKey, Person], proposed: Mapping[PersonKey, str], user, kind: str, note: str
) -> EmailChangeBatch | None:
    """Save ``proposed`` (already checked) and its history; None when empty."""
    if not proposed:
        return None
    batch = EmailChangeBatch.objects.create(school=school, kind=kind, note=note[:300], created_by=user)
    for role, model in MODELS.items():
        rows = [model(pk=key.pk, primary_email=email) for key, email in proposed.items() if key.role == role]
        model.objects.bulk_update(rows, ["primary_email"], batch_size=500)
        # bulk_update sends no post_save: say which people changed, and their old emails.
        school_data_changed_notify(
            sender=model, school_ids=[school.pk], pks=[row.pk for row in rows],
            old_values={key.pk: {"primary_email": people[key].email} for key in proposed if key.role == role},
        )
    EmailChange.objects.bulk_create(
        [
            EmailChange(
                batch=batch,
                student_id=key.pk if key.role == "student" else None,
                teacher_id=key.pk if key.role == "teacher" else None,
                old_email=people[key].email,
                new_email=email,
            )
            for key, email in sorted(proposed.items())
        ],
        batch_size=500,
    )
    return batch


@transaction.atomic
def email_batch_revert(*, batch: EmailChangeBatch, user) -> EmailChangeBatch:
    """Undo ``batch`` as one: every person it changed gets their old email back, recorded as a revert batch.

    Only when nothing happened since: each person's email must still be the batch's new one, and
    each old email must not have been taken by another active person meanwhile (its domain is not
    checked again: a revert restores what was). Raises :class:`EmailChangeRefused` (nothing
    written) listing these conflicts per person, when the batch was already reverted, or when
    it exceeds :func:`bulk_limit_error` for ``user``. Returns the new batch; ``batch.reverted_by``
    points to it.
    """
    batch = EmailChangeBatch.objects.select_for_update().select_related("school").get(pk=batch.pk)
    if batch.reverted_by_id:
        raise EmailChangeRefused(f"Batch #{batch.pk} was already reverted by batch #{batch.reverted_by_id}.")
    changes = {
        PersonKey("student", change.student_id)
        if change.student_id
        else PersonKey("teacher", change.teacher_id): change
        for change in batch.changes.all()
    }
    if not changes:
        raise EmailChangeRefused(f"Batch #{batch.pk} has nothing left to revert.")
    people = people_by_key(school_id=batch.school_id, keys=changes, lock=True)
    conflicts = {}
    for key, change in changes.items():
        person = people.get(key)
        if person is None:
            conflicts[key] = "No longer at this school."
        elif person.email != change.new_email:
            conflicts[key] = (
                f"{person}: the email is now {person.email or '(none)'}, not {change.new_email or '(none)'}."
            )
    proposed = {key: change.old_email for key, change in changes.items() if key not in conflicts}
    labels = {key: str(person) for key, person in people.items()}
    for key, reason in EmailRules(batch.school).check(proposed, labels=labels, check_domain=False).items():
        conflicts[key] = f"{people[key]}: {reason}"
    if conflicts:
        raise EmailChangeRefused(f"Batch #{batch.pk} cannot be reverted: {len(conflicts)} conflict(s).", conflicts)
    if reason := bulk_limit_error(count=len(proposed), user=user):
        raise EmailChangeRefused(reason)
    revert = _write(
        school=batch.school,
        people=people,
        proposed=proposed,
        user=user,
        kind=EmailChangeKind.REVERT,
        note=f"Revert of batch #{batch.pk}",
    )
    batch.reverted_by = revert
    batch.save(update_fields=["reverted_by"])
    return revert
