"""What is taught and to whom: subjects, courses (teaching groups) and homeroom classes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from .base import GradeLevel, SourcedModel, split_list, validate_grade_levels
from .school import AcademicYear, School, Term


def _same_school_errors(instance, school_id: int | None, **related) -> dict[str, str]:
    """Return a field → message dict for every related row that belongs to another school."""
    errors = {}
    for field, obj in related.items():
        if obj is not None and school_id is not None and obj.school_id != school_id:
            errors[field] = f"{obj} belongs to another school than this {instance._meta.verbose_name}."
    return errors


class Subject(SourcedModel):
    """A subject offering such as "Math 101"; published as a OneRoster course.

    ``subject_area`` becomes the course's ``subjects`` and ``subject_code`` its ``subjectCodes``;
    both are comma-separated lists (``"Math,Science"``), published as lists (:attr:`subject_list`).
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="subjects")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    subject_area = models.CharField(max_length=100, blank=True, help_text="For example Math, Science, English.")
    subject_code = models.CharField(max_length=50, blank=True, help_text="A standard subject code, if the school uses one.")

    class Meta:
        ordering = ["school", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def subject_list(self) -> list[str]:
        """``subject_area`` as a list (OneRoster ``subjects``)."""
        return split_list(self.subject_area)

    @property
    def subject_code_list(self) -> list[str]:
        """``subject_code`` as a list (OneRoster ``subjectCodes``)."""
        return split_list(self.subject_code)


class Course(SourcedModel):
    """The enrolled teaching group of a Subject in one year (e.g. "Algebra 1, group B").

    Published as a OneRoster class with ``classType=scheduled`` whose course is the Subject.
    ``grade_levels`` is a comma-separated list of CEDS codes (``"09,10"``).
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="courses")
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="courses")
    subject = models.ForeignKey(Subject, on_delete=models.RESTRICT, related_name="courses")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    grade_levels = models.CharField(max_length=100, blank=True, validators=[validate_grade_levels], help_text="CEDS codes, comma-separated, e.g. 09,10.")
    terms = models.ManyToManyField(Term, blank=True, related_name="courses")
    location = models.CharField(max_length=100, blank=True)
    periods = models.CharField(max_length=100, blank=True, help_text="Comma-separated periods, e.g. 1,2.")
    students = models.ManyToManyField("Student", through="CourseStudent", related_name="courses")
    teachers = models.ManyToManyField("Teacher", through="CourseTeacher", related_name="courses")

    class Meta:
        ordering = ["school", "name"]
        indexes = [models.Index(fields=["school", "year"])]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_list(self) -> list[str]:
        return split_list(self.grade_levels)

    def clean(self) -> None:
        errors = _same_school_errors(
            self,
            self.school_id,
            year=self.year if self.year_id else None,
            subject=self.subject if self.subject_id else None,
        )
        if errors:
            raise ValidationError(errors)


class SchoolClass(SourcedModel):
    """A form or homeroom group of one year; published as a OneRoster class with ``classType=homeroom``."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="school_classes")
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="school_classes")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    grade_level = models.CharField(max_length=5, blank=True, choices=GradeLevel.choices)
    location = models.CharField(max_length=100, blank=True)
    students = models.ManyToManyField("Student", through="ClassStudent", related_name="school_classes")
    teachers = models.ManyToManyField("Teacher", through="ClassTeacher", related_name="school_classes")

    class Meta:
        ordering = ["school", "name"]
        verbose_name = "class"
        verbose_name_plural = "classes"
        indexes = [models.Index(fields=["school", "year"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = _same_school_errors(self, self.school_id, year=self.year if self.year_id else None)
        if errors:
            raise ValidationError(errors)
