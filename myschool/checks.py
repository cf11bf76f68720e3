"""System checks of MySchool's own settings (run by ``manage.py check``, ``migrate``, ``runserver``...).

``myschool.E001``: with ``DEBUG`` off, ``EMAIL_BACKEND`` must deliver mail. The console, file,
local-memory and dummy backends do not: credential handoff links (lis/integrations) and support
alerts would land in a log file or vanish. The demo runs with ``DEBUG`` on; the test settings
opt out with ``EMAIL_UNDELIVERED_BACKEND_ALLOWED = True`` (Django's test runner swaps in the
local-memory backend anyway).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

UNDELIVERED_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


@register(Tags.security)
def check_email_backend(app_configs=None, **kwargs) -> list[Error]:
    """``[Error myschool.E001]`` when ``DEBUG`` is off and ``EMAIL_BACKEND`` keeps mail on this machine."""
    if settings.DEBUG or getattr(settings, "EMAIL_UNDELIVERED_BACKEND_ALLOWED", False):
        return []
    if settings.EMAIL_BACKEND not in UNDELIVERED_BACKENDS:
        return []
    return [
        Error(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND!r} with DJANGO_DEBUG off: mail (credential handoff "
            "links, alerts) would be printed or kept on this machine instead of being sent.",
            hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST (README, Configuration).",
            id="myschool.E001",
        )
    ]
