"""Where a school's primary emails must fit: the allowed domains and the schools sharing the address space.

A school's people get Microsoft accounts in one tenant, which may serve several schools. Their
primary emails must use one of the tenant's verified domains and be unique across all of its
schools. ``myschool`` knows nothing of Microsoft, so it asks the function named by
``MYSCHOOL_EMAILS["TENANT_PROVIDER"]`` (``lis`` provides it) and otherwise treats every school as
its own tenant with no known domains, in which case domain checks are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.module_loading import import_string

from myschool.models import School

from .conf import emails_setting

MAX_LENGTH = 254
_syntax = EmailValidator()


@dataclass(frozen=True)
class EmailTenant:
    """``domains``: lower-case domains a primary email may use (empty: unknown, not checked);
    ``school_ids``: the schools whose people's emails must be unique together (always holds the school)."""

    domains: frozenset[str]
    school_ids: frozenset[int]

    def allows(self, email: str) -> bool:
        """True when ``email``'s domain is allowed, or when no domains are known."""
        return not self.domains or email_domain(email) in self.domains


def normalize_email(value: str) -> str:
    """An email as stored: surrounding whitespace removed, lower case (Microsoft compares case-insensitively)."""
    return (value or "").strip().lower()


def email_domain(email: str) -> str:
    """The lower-case part after the last ``@`` ("" when there is none)."""
    return email.rpartition("@")[2].lower() if "@" in email else ""


def email_syntax_error(email: str) -> str | None:
    """Why ``email`` is not a valid address (Django's ``EmailValidator``, at most 254 characters), or None."""
    if len(email) > MAX_LENGTH:
        return f"An email has at most {MAX_LENGTH} characters."
    try:
        _syntax(email)
    except ValidationError:
        return f"{email!r} is not a valid email address."
    return None


@cache
def _provider(path: str):
    return import_string(path)


def email_tenant(school: School) -> EmailTenant:
    """The :class:`EmailTenant` of ``school`` from the configured provider (see the module docstring)."""
    path = emails_setting("TENANT_PROVIDER")
    if not path:
        return EmailTenant(domains=frozenset(), school_ids=frozenset({school.pk}))
    return _provider(path)(school)
