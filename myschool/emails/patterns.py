"""Primary emails generated from a pattern such as ``{given}.{family}@school.example``.

Only active people without an email get one. Placeholders (in the part before ``@`` only):
``{given}``, ``{family}``, ``{middle}``, ``{initial}`` (first letter of the given name),
``{number}`` (student or staff number) and ``{username}``. Values are folded to ASCII
(``José Müller`` → ``jose``, ``muller``; ``ß`` → ``ss``, ``Ø`` → ``o``), lower-cased and
stripped of anything but ``a–z 0–9 . _ -``; spaces and apostrophes vanish. An address already
used in the tenant's schools (even by someone who left: their Microsoft account may still
exist) or generated earlier in the same run gets a number: ``ada.lovelace2@…``, ``…3@…``.
People are taken by folded family name, given name and id, so the same data gives the same result.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from myschool.models import EmailChangeBatch, EmailChangeKind, School, Status

from .people import MODELS, NUMBER_FIELDS, Person, PersonKey
from .rules import EmailRules
from .services import bulk_limit_error, primary_emails_change
from .tenant import email_tenant

PLACEHOLDERS = ("given", "family", "middle", "initial", "number", "username")
# Letters NFKD does not decompose into ASCII.
SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ł": "l",
        "Ł": "l",
        "ı": "i",
        "ħ": "h",
        "Ħ": "h",
    }
)


def fold_to_ascii(text: str) -> str:
    """``"Zoë Ångström-Øst"`` → ``"zoeangstrom-ost"``: ASCII, lower case, only ``a–z 0–9 . _ -``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(SPECIAL_LETTERS))
    ascii_text = decomposed.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9._-]", "", ascii_text)


def pattern_validate(pattern: str) -> None:
    """Raise ``ValidationError`` unless ``pattern`` is ``<local part with placeholders>@<domain>``."""
    local, at, domain = pattern.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValidationError("A pattern looks like {given}.{family}@school.example.", code="pattern")
    if "{" in domain or "}" in domain:
        raise ValidationError("Placeholders go before the @; the domain is written out.", code="pattern")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(local) if name is not None}
    except ValueError as exc:
        raise ValidationError(f"The pattern is not well formed: {exc}.", code="pattern") from None
    unknown = names - set(PLACEHOLDERS)
    if unknown or not names:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValidationError(f"Use the placeholders {known}.", code="pattern")


def render_local_part(local_pattern: str, person: Person, middle_name: str) -> str:
    """The part before ``@`` for ``person``: placeholders filled with folded values, dots tidied."""
    values = {
        "given": person.given_name,
        "family": person.family_name,
        "middle": middle_name,
        "initial": person.given_name[:1],
        "number": person.number,
        "username": person.username.split("@", 1)[0],
    }
    local = fold_to_ascii(local_pattern.format(**{name: fold_to_ascii(value) for name, value in values.items()}))
    return re.sub(r"\.{2,}", ".", local).strip(".-_")


@dataclass
class PatternPreview:
    """``generated``: (person, email) pairs to apply; ``rejected``: (person, reason); ``limit_error`` as in bulk."""

    generated: list[tuple[Person, str]] = field(default_factory=list)
    rejected: list[tuple[Person, str]] = field(default_factory=list)
    limit_error: str | None = None

    @property
    def can_apply(self) -> bool:
        return bool(self.generated) and not self.limit_error


def pattern_preview(*, school: School, pattern: str, role: str | None = None, user=None) -> PatternPreview:
    """The emails ``pattern`` gives the active people of ``school`` (of ``role``, or both) who have none.

    Raises ``ValidationError`` for a bad pattern. Writes nothing. ``user`` decides the bulk limit.
    """
    pattern_validate(pattern)
    local_pattern, _, domain = pattern.strip().rpartition("@")
    domain = domain.lower()
    tenant = email_tenant(school)
    taken = set()
    for model in MODELS.values():
        emails = model.objects.filter(school_id__in=tenant.school_ids).exclude(primary_email="")
        taken.update(emails.annotate(lower=Lower("primary_email")).values_list("lower", flat=True))
    people = []
    for name in [role] if role else list(MODELS):
        rows = MODELS[name].objects.filter(school=school, status=Status.ACTIVE, primary_email="")
        for pk, number, username, given, middle, family in rows.values_list(
            "pk", NUMBER_FIELDS[name], "username", "given_name", "middle_name", "family_name"
        ):
            people.append((Person(PersonKey(name, pk), number, username, given, family, ""), middle))
    people.sort(key=lambda item: (fold_to_ascii(item[0].family_name), fold_to_ascii(item[0].given_name), item[0].key))

    preview = PatternPreview()
    proposed: dict[PersonKey, str] = {}
    for person, middle in people:
        local = render_local_part(local_pattern, person, middle)
        if not local:
            preview.rejected.append((person, "the pattern gives an empty name before the @."))
            continue
        email, suffix = f"{local}@{domain}", 1
        while email in taken:
            suffix += 1
            email = f"{local}{suffix}@{domain}"
        taken.add(email)
        proposed[person.key] = email
    errors = EmailRules(school, tenant=tenant).check(proposed)
    for person, _ in people:
        if person.key in errors:
            preview.rejected.append((person, errors[person.key]))
        elif person.key in proposed:
            preview.generated.append((person, proposed[person.key]))
    preview.limit_error = bulk_limit_error(count=len(preview.generated), user=user)
    return preview


@transaction.atomic
def pattern_apply(
    *, school: School, pattern: str, role: str | None = None, user
) -> tuple[PatternPreview, EmailChangeBatch | None]:
    """Compute the preview again and apply its generated emails as one pattern batch.

    Rejected people are left without email. Returns ``(preview, batch)``; ``batch`` is None when
    nothing can be applied (nothing generated, or the bulk limit). Raises ``ValidationError`` for a
    bad pattern and :class:`~myschool.emails.services.EmailChangeRefused` if data changed meanwhile.
    """
    preview = pattern_preview(school=school, pattern=pattern, role=role, user=user)
    if not preview.can_apply:
        return preview, None
    changes = {person.key: email for person, email in preview.generated}
    batch = primary_emails_change(school=school, changes=changes, user=user, kind=EmailChangeKind.PATTERN, note=pattern)
    return preview, batch
