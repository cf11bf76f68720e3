"""Students, teachers and the Django users who administer a school."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .base import GradeLevel, SourcedModel, Status, validate_username
from .school import School


class Sex(models.TextChoices):
    """OneRoster demographics ``sex`` (§3)."""

    MALE = "male", "Male"
    FEMALE = "female", "Female"


class Person(SourcedModel):
    """Fields shared by students and teachers, who are both OneRoster users."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="%(class)ss")
    username = models.CharField(
        max_length=150,
        blank=True,
        validators=[validate_username],
        help_text="The MySchool login name; never contains '@'.",
    )
    given_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100)
    primary_email = models.EmailField(
        "primary email", blank=True, help_text="The person's Microsoft account email, published as `email`."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    same_person_as = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_records",
        verbose_name="same person as",
        help_text=(
            "Set by support (or the OneRoster CSV import) when this record is the same person as a record of "
            "another school of the same Microsoft tenant: they are published as one OneRoster user with both "
            "schools in orgs, under the main record's sourcedId."
        ),
    )

    class Meta:
        abstract = True

    @property
    def main_record(self):
        """The record that stands for this person in OneRoster: ``same_person_as`` or the record itself."""
        return self.same_person_as or self

    def clean(self) -> None:
        """A link (issue 14) joins two records of one person: another school of the same tenant, same role,
        and only one level deep (the main record is not itself linked, a linked record has no links)."""
        super().clean()
        main = self.same_person_as
        if main is None:
            return
        from django.core.exceptions import ValidationError

        if main.pk == self.pk:
            raise ValidationError({"same_person_as": "A record cannot be linked to itself."})
        if main.same_person_as_id is not None:
            raise ValidationError(
                {"same_person_as": f"{main} ({main.school}) is itself linked to another record; link to that main record."}
            )
        if self.pk and self.linked_records.exists():
            raise ValidationError(
                {"same_person_as": "Other records are linked to this one: it is a main record and cannot be linked."}
            )
        if main.school_id == self.school_id:
            raise ValidationError({"same_person_as": "Both records are at the same school; one school has one record per person."})
        from myschool.emails.tenant import email_tenant

        if main.school_id not in email_tenant(self.school).school_ids:
            raise ValidationError(
                {"same_person_as": f"{main.school} is not in the same Microsoft tenant as {self.school}; only records "
                 "of one tenant's schools can be the same Microsoft user."}
            )

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.given_name, self.middle_name, self.family_name) if part)


class Student(Person):
    """A student of one school; published as a OneRoster user with ``role=student``.

    ``student_number`` is unique per school and published as the user's ``identifier``;
    birth date and sex are published as demographics only when the school shares them.
    """

    student_number = models.CharField(max_length=50)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    grade_level = models.CharField(max_length=5, choices=GradeLevel.choices, blank=True)

    class Meta:
        ordering = ["school", "family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "student_number"], name="student_unique_number_per_school"),
        ]
        indexes = [models.Index(fields=["school", "status"]), models.Index(fields=["primary_email"])]


class Teacher(Person):
    """A teacher of one school; published as a OneRoster user with ``role=teacher``.

    ``staff_number`` is unique per school and published as the user's ``identifier``.
    """

    staff_number = models.CharField(max_length=50)

    class Meta:
        ordering = ["school", "family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "staff_number"], name="teacher_unique_number_per_school"),
        ]
        indexes = [models.Index(fields=["school", "status"]), models.Index(fields=["primary_email"])]


class SchoolStaff(models.Model):
    """Attaches a Django user (a school administrator) to the one school whose rows they manage."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_staff")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name = "school staff membership"
        verbose_name_plural = "school staff memberships"

    def __str__(self) -> str:
        return f"{self.user} at {self.school}"
