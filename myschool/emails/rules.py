"""The one check every new primary email passes: syntax, allowed domain, uniqueness.

Used by the mass-edit page, CSV files, pattern generation and the write service itself, so a
rule is never written twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from django.db.models.functions import Lower

from myschool.models import School

from .people import MODELS, NUMBER_FIELDS, PersonKey
from .selectors import EMAIL_LOWER, active_people
from .usernames import PERSON
from .tenant import EmailTenant, email_domain, email_syntax_error, email_tenant

CHUNK = 1000


class EmailRules:
    """Checks proposed emails for people of ``school`` against its :class:`~.tenant.EmailTenant`."""

    def __init__(self, school: School, *, tenant: EmailTenant | None = None):
        self.school = school
        self.tenant = tenant or email_tenant(school)

    def check(
        self,
        proposed: Mapping[PersonKey, str],
        *,
        labels: Mapping[PersonKey, str] | None = None,
        check_domain: bool = True,
    ) -> dict[PersonKey, str]:
        """Return ``{person: why their proposed email is refused}`` for the refused ones.

        ``proposed`` maps people to normalized emails ("" clears an email and is always accepted).
        An email is refused when it is not a valid address, when its domain is not one of the
        tenant's (unless the tenant has none or ``check_domain`` is false), when another person of
        ``proposed`` gets it too (all of them are refused), or when an active person of the tenant's
        schools has it and is not getting another email here. A person whose email is refused keeps
        their current one, which may in turn refuse another row: this repeats until nothing changes.
        ``labels`` names people in the messages (default: "another row"). Two queries.
        """
        labels = labels or {}
        errors: dict[PersonKey, str] = {}
        for key, email in proposed.items():
            if not email:
                continue
            if reason := email_syntax_error(email):
                errors[key] = reason
            elif check_domain and not self.tenant.allows(email):
                allowed = ", ".join(sorted(self.tenant.domains))
                errors[key] = f"{email}: {email_domain(email)} is not a Microsoft domain of this school ({allowed})."

        by_email: dict[str, list[PersonKey]] = defaultdict(list)
        for key, email in proposed.items():
            if email and key not in errors:
                by_email[email].append(key)
        for email, keys in by_email.items():
            for key in keys if len(keys) > 1 else ():
                others = ", ".join(labels.get(other, "another row") for other in keys if other != key)
                errors[key] = f"{email} is also given for {others}."

        holders = self._holders({email for email, keys in by_email.items() if len(keys) == 1})
        persons = self._persons({keys[0] for keys in by_email.values() if len(keys) == 1})
        while True:
            changing = {key for key in proposed if key not in errors}
            refused = {}
            for email, keys in by_email.items():
                key = keys[0]
                if len(keys) > 1 or key in errors:
                    continue
                blocking = [
                    holder
                    for holder in holders.get(email, ())
                    if holder[0] not in changing and holder[3] != persons.get(key, (key.role, key.pk))
                ]
                if blocking:
                    refused[key] = self._taken_message(email, blocking[0])
            if not refused:
                return errors
            errors.update(refused)

    @staticmethod
    def _persons(keys: set[PersonKey]) -> dict[PersonKey, tuple[str, int]]:
        """record → (role, pk of its main record): records linked as one person (issue 14) may share an email."""
        persons: dict[PersonKey, tuple[str, int]] = {}
        for role, model in MODELS.items():
            pks = sorted(key.pk for key in keys if key.role == role)
            for start in range(0, len(pks), CHUNK):
                for pk, main in model.objects.filter(pk__in=pks[start : start + CHUNK]).values_list("pk", PERSON):
                    persons[PersonKey(role, pk)] = (role, main)
        return persons

    def _holders(self, emails: set[str]) -> dict[str, list[tuple[PersonKey, int, str, tuple[str, int]]]]:
        """email → [(record, school id, label, (role, main record pk))] of the tenant's active people who have it now."""
        holders: dict[str, list[tuple[PersonKey, int, str, tuple[str, int]]]] = defaultdict(list)
        ordered = sorted(emails)
        for role in MODELS:
            people = active_people(role, self.tenant.school_ids).annotate(**{EMAIL_LOWER: Lower("primary_email")})
            for start in range(0, len(ordered), CHUNK):
                rows = people.filter(**{f"{EMAIL_LOWER}__in": ordered[start : start + CHUNK]}).values_list(
                    "pk", "school_id", "given_name", "family_name", NUMBER_FIELDS[role], EMAIL_LOWER, PERSON
                )
                for pk, school_id, given, family, number, email, main in rows:
                    label = f"{given} {family} ({role} {number})"
                    holders[email].append((PersonKey(role, pk), school_id, label, (role, main)))
        return holders

    def _taken_message(self, email: str, holder: tuple[PersonKey, int, str, tuple[str, int]]) -> str:
        _, school_id, label, _person = holder
        if school_id == self.school.pk:
            return f"{email} is already the email of {label}."
        return f"{email} is already used at another school of the same Microsoft tenant."
