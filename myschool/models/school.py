"""Schools, the groups (districts) they belong to, academic years and terms."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from .base import SourcedModel


class SchoolGroup(SourcedModel):
    """A group of schools (a district or trust); published as a OneRoster org of type ``district``."""

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, unique=True, help_text="Published as the org's identifier.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(SourcedModel):
    """One school; published as a OneRoster org of type ``school`` whose identifier is ``code``.

    ``active_year`` is the only academic year ever synced to Microsoft.
    """

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, unique=True, help_text="The school code, published as the org's identifier.")
    group = models.ForeignKey(SchoolGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="schools")
    active_year = models.ForeignKey(
        "AcademicYear",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The academic year MySchool works in now; only this year is synced.",
    )

    class Meta:
        ordering = ["name"]
        permissions = [("access_all_schools", "Can see and change the rows of every school")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.active_year_id and self.pk and self.active_year.school_id != self.pk:
            raise ValidationError({"active_year": "The active year must be one of this school's years."})


class AcademicYear(SourcedModel):
    """A school's academic year; published as an academicSession of type ``schoolYear``."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="academic_years")
    name = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["school", "-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="academicyear_unique_name_per_school"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")), name="academicyear_end_not_before_start"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def school_year(self) -> str:
        """OneRoster's ``schoolYear``: the calendar year in which this year ends, as digits (§3)."""
        return str(self.end_date.year)

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The year cannot end before it starts."})


class Term(SourcedModel):
    """A term of an academic year; published as an academicSession of type ``term``."""

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["year", "start_date"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")), name="term_end_not_before_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.year})" if self.year_id else self.name

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "The term cannot end before it starts."
        if self.year_id and self.start_date and self.end_date:
            year = self.year
            if self.start_date < year.start_date or self.end_date > year.end_date:
                errors["start_date"] = (
                    f"The term must lie inside its year ({year.start_date:%Y-%m-%d} – {year.end_date:%Y-%m-%d})."
                )
        if errors:
            raise ValidationError(errors)
