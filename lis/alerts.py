"""Emails to support staff about publications and integrations that need a human."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from myschool.scoping import ALL_SCHOOLS_PERMISSION

logger = logging.getLogger(__name__)


def support_recipients() -> list[str]:
    """``SUPPORT_EMAILS`` when set, else the emails of active users who see every school."""
    if settings.SUPPORT_EMAILS:
        return list(settings.SUPPORT_EMAILS)
    users = get_user_model().objects.with_perm(ALL_SCHOOLS_PERMISSION, include_superusers=True, backend="django.contrib.auth.backends.ModelBackend").filter(is_active=True)
    return sorted({email for email in users.values_list("email", flat=True) if email})


def alert_support(subject: str, body: str) -> int:
    """Email ``subject``/``body`` to support (see :func:`support_recipients`); return the number of
    messages sent (0 when nobody is configured, which is logged)."""
    recipients = support_recipients()
    if not recipients:
        logger.warning("No support recipients for alert %r", subject)
        return 0
    return send_mail(f"[MySchool sync] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)
