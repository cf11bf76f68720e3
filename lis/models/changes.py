"""The change log of incremental publication (issue 19): what changed in MySchool since a school's last run.

Each row says that something a school publishes may have changed: a OneRoster object by kind and
sourcedId, an email or login name whose holders' withholding may have changed, the tenant's
generated usernames, or "recompute everything" (``full``). Rows are written in the same
transaction as the change (:mod:`lis.publication.changes`) and deleted by the school's run that
read them, when it commits.
"""

from __future__ import annotations

from django.db import models

from myschool.models import School


class ChangeKind(models.TextChoices):
    """What a :class:`SchoolChange` row names; ``key`` holds the sourcedId, email or login name."""

    FULL = "full", "everything (full run)"
    ORG = "org", "org"
    COURSE = "course", "course (subject)"
    CLASS = "class", "class (course or homeroom class)"
    USER = "user", "user (student or teacher)"
    ENROLLMENT = "enrollment", "enrollment (membership)"
    EMAIL = "email", "holders of an email"
    USERNAME = "username", "holders of a login name"
    GENERATED = "generated", "generated usernames"


class SchoolChange(models.Model):
    """One change a school's next publication must look at (see the module docstring)."""

    id = models.BigAutoField(primary_key=True)
    # No database constraint: a school's delete logs changes of its people as it goes, and a
    # deleted school's leftover rows are harmless.
    school = models.ForeignKey(School, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    kind = models.CharField(max_length=12, choices=ChangeKind.choices)
    key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["school", "id"], name="schoolchange_school")]
        verbose_name = "school change"

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()
