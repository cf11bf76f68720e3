"""Primary (Microsoft account) emails: the mass-edit page's anchor and the history of every change.

Who changed which email when is recorded per batch: one save of the mass-edit page, one CSV
file, one pattern run or one revert is one :class:`EmailChangeBatch` holding one
:class:`EmailChange` per person whose email it changed. The services that write them live in
:mod:`myschool.emails`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .people import Student, Teacher
from .school import School


class PrimaryEmail(Student):
    """The *Primary emails* admin page (students and teachers), and the permissions that guard it.

    A proxy gives the page its place in the admin navigation and its own ``view``/``change``
    permissions without a table of its own; its rows are Students, the page lists Teachers too.
    ``bulk_update_primary_emails_unlimited`` lets support apply a CSV file, pattern or revert that
    changes more than ``MYSCHOOL_EMAILS["BULK_LIMIT"]`` emails at once.
    """

    class Meta:
        proxy = True
        verbose_name = "primary email"
        verbose_name_plural = "Primary emails"
        permissions = [
            ("bulk_update_primary_emails_unlimited", "Can change more primary emails at once than the bulk limit"),
        ]


class EmailChangeKind(models.TextChoices):
    """How a batch of email changes was made."""

    MASS_EDIT = "mass_edit", "Mass edit"
    CSV = "csv", "CSV file"
    PATTERN = "pattern", "Generated from a pattern"
    REVERT = "revert", "Revert"


class EmailChangeBatch(models.Model):
    """One act that changed primary emails of one school: who, when, how; its rows are ``changes``.

    ``reverted_by`` is the (later) batch that undid this one, if any. ``note`` says more, e.g. the
    file name or the pattern.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="email_change_batches")
    kind = models.CharField(max_length=20, choices=EmailChangeKind.choices)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reverted_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reverts",
        help_text="The batch that undid this one.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "email change batch"
        verbose_name_plural = "email change batches"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} at {self.school.name}" if self.school_id else f"Batch #{self.pk}"


class EmailChange(models.Model):
    """One person's primary email changing from ``old_email`` to ``new_email`` ("" is none).

    Exactly one of ``student`` and ``teacher`` is set. Who and when are the batch's.
    """

    batch = models.ForeignKey(EmailChangeBatch, on_delete=models.CASCADE, related_name="changes")
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.CASCADE, related_name="email_changes")
    teacher = models.ForeignKey(Teacher, null=True, blank=True, on_delete=models.CASCADE, related_name="email_changes")
    old_email = models.CharField(max_length=254, blank=True)
    new_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-batch__created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(student__isnull=False, teacher__isnull=True)
                | models.Q(student__isnull=True, teacher__isnull=False),
                name="emailchange_one_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.old_email or '(none)'} → {self.new_email or '(none)'}"

    @property
    def person(self) -> Student | Teacher:
        return self.student if self.student_id else self.teacher
