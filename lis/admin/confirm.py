"""Confirmation pages before the LIS admin's destructive operations (Django's ``delete_selected`` pattern).

The first request (an action's POST from the changelist, or a GET of a confirmation URL) shows
what will happen — counts in MySchool words — with a *Confirm* button; only the POST carrying
``confirm=yes`` does it. Used before switching a school off, removing groups from sync,
publishing now and confirming a held run.
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.template.response import TemplateResponse

TEMPLATE = "admin/lis/confirm.html"
CONFIRMED = "confirm"


def confirmed(request) -> bool:
    """True when the request is the confirmation page's POST."""
    return request.method == "POST" and request.POST.get(CONFIRMED) == "yes"


def confirmation_page(
    request,
    model_admin,
    *,
    title: str,
    consequences: list[str],
    items: list[str] = (),
    action: str = "",
    selected: list = (),
    hidden: dict | None = None,
    button: str = "Confirm",
    back_url: str = "",
    danger: bool = True,
    reason_field: bool = False,
    reason: str = "",
    error: str = "",
):
    """Render the confirmation page; its form posts the same ``action`` and selection (or ``hidden``) back.

    ``reason_field`` adds a required *reason* box (kept in the audit log) prefilled with ``reason``;
    ``error`` is shown above the button.
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "consequences": consequences,
        "items": list(items),
        "action": action,
        "selected": list(selected),
        "hidden": hidden or {},
        "button": button,
        "back_url": back_url,
        "danger": danger,
        "reason_field": reason_field,
        "reason": reason,
        "error": error,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, TEMPLATE, context)
