"""Who is in which group: students and teachers of courses and homeroom classes.

Each membership is a row of its own with a ``sourced_id``, published as a OneRoster
enrollment. All four share two abstract bases so the rules (same school, dates in order)
are written once.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from .base import SourcedModel
from .people import Student, Teacher
from .teaching import Course, SchoolClass


class Membership(SourcedModel):
    """A person in a group. Concrete classes name the two foreign keys in ``person_field`` and ``group_field``."""

    person_field: str
    group_field: str

    class Meta:
        abstract = True

    @property
    def person(self) -> Student | Teacher:
        return getattr(self, self.person_field)

    @property
    def group(self) -> Course | SchoolClass:
        return getattr(self, self.group_field)

    def clean(self) -> None:
        person_id = getattr(self, f"{self.person_field}_id")
        group_id = getattr(self, f"{self.group_field}_id")
        if person_id and group_id and self.person.school_id != self.group.school_id:
            raise ValidationError(
                {self.person_field: f"{self.person} is not at the school of {self.group}; memberships cannot cross schools."}
            )


class StudentMembership(Membership):
    """A student in a group from ``begin_date`` to ``end_date`` (both optional); enrollment ``role=student``."""

    person_field = "student"
    begin_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.student} in {self.group}"

    def clean(self) -> None:
        super().clean()
        if self.begin_date and self.end_date and self.end_date < self.begin_date:
            raise ValidationError({"end_date": "A membership cannot end before it begins."})


class TeacherMembership(Membership):
    """A teacher of a group; the main teacher is published with enrollment ``primary=true``."""

    person_field = "teacher"
    is_main_teacher = models.BooleanField("main teacher", default=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.teacher} teaches {self.group}"


class CourseStudent(StudentMembership):
    """A student enrolled in a course (teaching group)."""

    group_field = "course"
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="student_memberships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="course_memberships")

    class Meta:
        verbose_name = "student of a course"
        verbose_name_plural = "students of courses"
        constraints = [
            models.UniqueConstraint(fields=["course", "student"], name="coursestudent_once_per_course"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(begin_date__isnull=True) | models.Q(end_date__gte=models.F("begin_date")),
                name="coursestudent_end_not_before_begin",
            ),
        ]


class ClassStudent(StudentMembership):
    """A student in a homeroom class."""

    group_field = "school_class"
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="student_memberships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="class_memberships")

    class Meta:
        verbose_name = "student of a class"
        verbose_name_plural = "students of classes"
        constraints = [
            models.UniqueConstraint(fields=["school_class", "student"], name="classstudent_once_per_class"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(begin_date__isnull=True) | models.Q(end_date__gte=models.F("begin_date")),
                name="classstudent_end_not_before_begin",
            ),
        ]


class CourseTeacher(TeacherMembership):
    """A teacher of a course (teaching group)."""

    group_field = "course"
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="teacher_memberships")
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="course_memberships")

    class Meta:
        verbose_name = "teacher of a course"
        verbose_name_plural = "teachers of courses"
        constraints = [models.UniqueConstraint(fields=["course", "teacher"], name="courseteacher_once_per_course")]


class ClassTeacher(TeacherMembership):
    """A teacher of a homeroom class."""

    group_field = "school_class"
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="teacher_memberships")
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="class_memberships")

    class Meta:
        verbose_name = "teacher of a class"
        verbose_name_plural = "teachers of classes"
        constraints = [models.UniqueConstraint(fields=["school_class", "teacher"], name="classteacher_once_per_class")]
