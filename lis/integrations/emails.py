"""The email that carries a credential handoff link to an integration's key contact.

It holds the link (whose fragment is the token) and never the secret: the secret is only ever
shown on the handoff page, after the reveal POST.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from lis.models import CredentialHandoff, Integration


def handoff_email_send(*, integration: Integration, handoff: CredentialHandoff, link: str) -> int:
    """Email ``integration``'s key contact the handoff ``link`` (text and HTML, templates
    ``lis/email/handoff.txt``/``.html``). Returns the number of messages sent (1); mail errors propagate."""
    context = {
        "integration": integration,
        "link": link,
        "expires_at": handoff.expires_at,
        "contact_name": integration.key_contact_name,
    }
    message = EmailMultiAlternatives(
        subject=f"Microsoft School Data Sync: your connection details for {integration.name}",
        body=render_to_string("lis/email/handoff.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[integration.key_contact_email],
    )
    message.attach_alternative(render_to_string("lis/email/handoff.html", context), "text/html")
    return message.send()
