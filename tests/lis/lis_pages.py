"""Helpers for the LIS page tests: URLs, logging in, and the POSTs the changelist sends."""

from __future__ import annotations

from django.test import Client, TestCase
from django.urls import reverse

from lis.models import ClassSelection, CourseSelection
from myschool.models import Course
from myschool.signals import school_groups_changed_notify


def courses_url() -> str:
    return reverse("admin:lis_courseselection_changelist")


def classes_url() -> str:
    return reverse("admin:lis_classselection_changelist")


def switch_url(model: str, school) -> str:
    return reverse(f"admin:lis_{model}_school_sync", args=[school.pk])


def groups_created(*schools) -> None:
    """What the CSV import, the demo generator and the admin do after creating courses or classes of
    ``schools``: notify :data:`myschool.signals.school_groups_changed`, delivered here as at commit.
    (Factories create groups without it, and no page view creates selection rows.)"""
    with TestCase.captureOnCommitCallbacks(execute=True):
        school_groups_changed_notify(sender=Course, school_ids=[school.pk for school in schools])


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> list[str]:
    """The names of the courses or classes on a changelist response."""
    return [str(row) for row in response.context["cl"].result_list]


def save_list(client: Client, url: str, flags: dict[int, bool]):
    """POST the changelist's list_editable formset with ``flags`` (selection pk → sync)."""
    data = {
        "form-TOTAL_FORMS": str(len(flags)),
        "form-INITIAL_FORMS": str(len(flags)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, (pk, sync) in enumerate(flags.items()):
        data[f"form-{index}-id"] = str(pk)
        if sync:
            data[f"form-{index}-sync"] = "on"
    return client.post(url, data)


def act(client: Client, url: str, action: str, pks: list[int], *, confirm: bool = False):
    """POST the changelist's bulk ``action`` for the selections ``pks`` (``confirm``: as the confirmation page does)."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"}
    return client.post(url, {**data, "confirm": "yes"} if confirm else data)


def selection(group):
    """The CourseSelection or ClassSelection row of a course or class."""
    model = CourseSelection if group._meta.model_name == "course" else ClassSelection
    field = "course" if model is CourseSelection else "school_class"
    return model.objects.get(**{field: group})
