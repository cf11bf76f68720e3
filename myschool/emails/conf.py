"""The primary-email settings: one namespaced dict, ``settings.MYSCHOOL_EMAILS``, with these defaults.

- ``BULK_LIMIT`` (200): a CSV file, pattern run or revert that changes more emails than this needs
  the ``myschool.bulk_update_primary_emails_unlimited`` permission (support's).
- ``TENANT_PROVIDER`` (""): dotted path of a function ``school -> EmailTenant`` telling which email
  domains a school's people may use and which schools share their emails (see :mod:`.tenant`).
  Empty means no domains are known and each school is on its own. The project points it at
  ``lis.domains.school_email_tenant``, because Microsoft tenants live in ``lis`` and ``myschool``
  must not import it.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {"BULK_LIMIT": 200, "TENANT_PROVIDER": ""}


def emails_setting(name: str):
    """The value of ``settings.MYSCHOOL_EMAILS[name]``, or its default. Raises ``KeyError`` for unknown names."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown MYSCHOOL_EMAILS setting {name!r}")
    return getattr(settings, "MYSCHOOL_EMAILS", {}).get(name, DEFAULTS[name])
