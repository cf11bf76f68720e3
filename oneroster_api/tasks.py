"""Celery tasks of the OneRoster API (the beat schedule is in settings)."""

from __future__ import annotations

import logging

from celery import shared_task
from oauth2_provider.models import clear_expired

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=1800, time_limit=2100)
def clear_expired_tokens() -> None:
    """Delete expired OAuth tokens with django-oauth-toolkit's own ``clear_expired`` (what its
    ``cleartokens`` command runs): access tokens past ``expires``, in batches of
    ``OAUTH2_PROVIDER["CLEAR_EXPIRED_TOKENS_BATCH_SIZE"]``. Live tokens are kept."""
    clear_expired()
