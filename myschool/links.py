"""Absolute links to this deployment, for emails, the handoff page and printed output."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def public_url(path: str) -> str:
    """``PUBLIC_BASE_URL`` + ``path`` (``path`` starts with ``/``). Raises ``ImproperlyConfigured`` for a
    non-HTTPS base unless ``DEBUG`` is on (the local demo serves plain HTTP on 127.0.0.1)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if not base.startswith("https://") and not settings.DEBUG:
        raise ImproperlyConfigured(f"PUBLIC_BASE_URL must be an https:// URL in production, not {base!r}.")
    return base + path
