"""MySchool: the Django project (settings, URLs, Celery app) and the school domain app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
