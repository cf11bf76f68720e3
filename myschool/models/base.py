"""Building blocks shared by the school domain models."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models


def new_sourced_id() -> str:
    """Return a fresh sourcedId: a random UUID as a 36-character string."""
    return str(uuid.uuid4())


def validate_username(value: str) -> None:
    """Refuse usernames containing ``@``: SDS appends the tenant's domain to them (OneRoster §3 user)."""
    if "@" in value:
        raise ValidationError("A username must not contain '@' (Microsoft adds the domain itself).", code="username_at")


# CEDS grade levels, the codes OneRoster uses for `grades` (oneroster-1.1.md §3).
class GradeLevel(models.TextChoices):
    INFANT_TODDLER = "IT", "Infant/toddler"
    PRESCHOOL = "PR", "Preschool"
    PREKINDERGARTEN = "PK", "Prekindergarten"
    TRANSITIONAL_KINDERGARTEN = "TK", "Transitional kindergarten"
    KINDERGARTEN = "KG", "Kindergarten"
    GRADE_01 = "01", "Grade 1"
    GRADE_02 = "02", "Grade 2"
    GRADE_03 = "03", "Grade 3"
    GRADE_04 = "04", "Grade 4"
    GRADE_05 = "05", "Grade 5"
    GRADE_06 = "06", "Grade 6"
    GRADE_07 = "07", "Grade 7"
    GRADE_08 = "08", "Grade 8"
    GRADE_09 = "09", "Grade 9"
    GRADE_10 = "10", "Grade 10"
    GRADE_11 = "11", "Grade 11"
    GRADE_12 = "12", "Grade 12"
    GRADE_13 = "13", "Grade 13"
    POSTSECONDARY = "PS", "Postsecondary"
    UNGRADED = "UG", "Ungraded"
    OTHER = "Other", "Other"


def split_list(value: str) -> list[str]:
    """Split a comma-separated list (grade levels ``"09,10"``, periods ``"1,2"``) into its items, dropping blanks."""
    return [code.strip() for code in value.split(",") if code.strip()]


def validate_grade_levels(value: str) -> None:
    """Refuse a comma-separated grade list holding anything but CEDS codes."""
    unknown = [code for code in split_list(value) if code not in GradeLevel.values]
    if unknown:
        raise ValidationError(
            "Unknown grade level(s): %(codes)s. Use CEDS codes such as KG, 01 … 13.",
            code="grade_level",
            params={"codes": ", ".join(unknown)},
        )


class SourcedModel(models.Model):
    """A row that may be published to OneRoster, identified there by its ``sourced_id``.

    The sourcedId is text, not a UUID column, so ids from other systems (``usr-13001``) fit.
    It defaults to a new UUID string, is unique per table and never changes: ``save()``
    refuses to alter the value a row was loaded with.
    """

    sourced_id = models.CharField(
        "sourcedId",
        max_length=255,
        unique=True,
        default=new_sourced_id,
        editable=False,
        help_text="The OneRoster sourcedId: stable forever, never reused.",
    )

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_sourced_id = instance.__dict__.get("sourced_id")
        return instance

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_sourced_id", None)
        if loaded is not None and self.sourced_id != loaded:
            raise ValidationError(
                f"The sourcedId of {self._meta.verbose_name} {loaded!r} cannot change.", code="sourced_id_changed"
            )
        super().save(*args, **kwargs)
        self._loaded_sourced_id = self.sourced_id


class Status(models.TextChoices):
    """Whether a person is still at the school; people who left are kept, not deleted."""

    ACTIVE = "active", "Active"
    LEFT = "left", "Left"
