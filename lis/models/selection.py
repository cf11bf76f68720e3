"""What a school sends to Microsoft, and who may decide it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from myschool.models import Course, School, SchoolClass


class UsersToPublish(models.TextChoices):
    """Which of a school's people are published as OneRoster users."""

    ALL_ACTIVE = "all_active", "All active students and teachers"
    GROUP_MEMBERS = "group_members", "Only members of ticked classes and courses"


class SchoolSyncSettings(models.Model):
    """A school's switches for Microsoft sync. Missing settings mean: not synced."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="sync_settings")
    should_sync = models.BooleanField("should sync school", default=False)
    users_to_publish = models.CharField(max_length=20, choices=UsersToPublish.choices, default=UsersToPublish.ALL_ACTIVE)
    share_demographics = models.BooleanField(
        default=False, help_text="Publish students' birth date and sex as OneRoster demographics."
    )

    class Meta:
        verbose_name = "school sync settings"
        verbose_name_plural = "school sync settings"

    def __str__(self) -> str:
        return f"Sync settings of {self.school}"


class CourseSelection(models.Model):
    """Whether one course (teaching group) is sent to Microsoft. One row per course of the active year."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="sync_selection")
    sync = models.BooleanField(default=False)

    class Meta:
        verbose_name = "LIS course"
        verbose_name_plural = "LIS Courses"
        permissions = [("manage_lis_courses", "Can choose which courses sync to Microsoft")]

    def __str__(self) -> str:
        return str(self.course)


class ClassSelection(models.Model):
    """Whether one homeroom class is sent to Microsoft. One row per class of the active year."""

    school_class = models.OneToOneField(SchoolClass, on_delete=models.CASCADE, related_name="sync_selection")
    sync = models.BooleanField(default=False)

    class Meta:
        verbose_name = "LIS class"
        verbose_name_plural = "LIS Classes"
        permissions = [("manage_lis_classes", "Can choose which classes sync to Microsoft")]

    def __str__(self) -> str:
        return str(self.school_class)


class Feature(models.TextChoices):
    """The LIS features support staff map to a school's user group."""

    LIS_COURSES = "lis_courses", "LIS Courses"
    LIS_CLASSES = "lis_classes", "LIS Classes"


class FeatureGrant(models.Model):
    """Support's grant of one LIS feature, for one school, to the members of one Django group."""

    feature = models.CharField(max_length=20, choices=Feature.choices)
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="feature_grants")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="feature_grants")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feature", "school", "group"], name="featuregrant_once")]

    def __str__(self) -> str:
        return f"{self.get_feature_display()} at {self.school} for {self.group}"


class SelectionChange(models.Model):
    """One recorded change of a sync flag or a school switch: who, when, what, old → new."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="selection_changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    target = models.CharField(max_length=300, help_text="What changed, e.g. 'course Algebra 1' or 'school switch'.")
    field = models.CharField(max_length=50)
    old_value = models.CharField(max_length=100)
    new_value = models.CharField(max_length=100)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = "LIS change"
        verbose_name_plural = "LIS history"

    def __str__(self) -> str:
        return f"{self.target}: {self.field} {self.old_value} → {self.new_value}"
