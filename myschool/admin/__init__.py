"""Admin of the school domain, scoped per school by :mod:`myschool.scoping`.

Support staff see every school; a school administrator sees and changes only their own school's
rows (see :mod:`.base`). Importing this package (Django's admin autodiscovery does) registers the
ModelAdmins of :mod:`.school`, the *Primary emails* pages (:mod:`.emails`) and the email history
(:mod:`.email_history`). Other apps build on :class:`SchoolScopedAdmin` and :data:`SCHOOL_FILTER`.
"""

from . import email_history, emails, school
from .base import SCHOOL_FILTER, MemberCountColumns, ReadOnlyAdminMixin, SchoolScopedAdmin, SchoolScopedMixin, sync_time_field

__all__ = ["SCHOOL_FILTER", "MemberCountColumns", "ReadOnlyAdminMixin", "SchoolScopedAdmin", "SchoolScopedMixin", "email_history", "emails", "school", "sync_time_field"]
