"""Primary (Microsoft account) emails: checks, mass edit, CSV bulk update, patterns, history and revert.

- :mod:`.tenant`: which domains a school may use and which schools share the address space;
- :mod:`.selectors`: domains in use, duplicates, who has which problem (:class:`EmailProblems`);
- :mod:`.rules`: the one check of new emails (:class:`EmailRules`);
- :mod:`.services`: the one write (:func:`primary_emails_change`) and :func:`email_batch_revert`;
- :mod:`.massedit`, :mod:`.bulk`, :mod:`.patterns`: the three ways of changing many emails.
"""

from .bulk import BulkFileError, BulkPreview, bulk_apply, bulk_preview, decode_upload
from .patterns import PatternPreview, fold_to_ascii, pattern_apply, pattern_preview, pattern_validate
from .people import Person, PersonKey, PersonRole
from .rules import EmailRules
from .selectors import (
    EmailProblems,
    Problem,
    duplicate_emails,
    email_domains,
    email_problems,
    email_problems_among,
    people_rows,
)
from .services import (
    UNLIMITED_PERMISSION,
    EmailChangeRefused,
    bulk_limit_error,
    email_batch_revert,
    primary_emails_change,
)
from .tenant import EmailTenant, email_domain, email_tenant, normalize_email

__all__ = [
    "UNLIMITED_PERMISSION",
    "BulkFileError",
    "BulkPreview",
    "EmailChangeRefused",
    "EmailProblems",
    "EmailRules",
    "EmailTenant",
    "PatternPreview",
    "Person",
    "PersonKey",
    "PersonRole",
    "Problem",
    "bulk_apply",
    "bulk_limit_error",
    "bulk_preview",
    "decode_upload",
    "duplicate_emails",
    "email_batch_revert",
    "email_domain",
    "email_domains",
    "email_problems",
    "email_problems_among",
    "email_tenant",
    "fold_to_ascii",
    "normalize_email",
    "pattern_apply",
    "pattern_preview",
    "pattern_validate",
    "people_rows",
    "primary_emails_change",
]
