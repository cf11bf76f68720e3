"""The LIS admin: the school-facing LIS Courses / LIS Classes pages and support's grants and settings.

Importing this package (Django's admin autodiscovery does) registers the ModelAdmins on the
default site and arranges its navigation (see :mod:`.navigation`).
"""

from django.contrib import admin

from . import grants, history, integrations, publication, readiness, selection
from .navigation import install_school_facing_sections

install_school_facing_sections(admin.site)

__all__ = ["grants", "history", "integrations", "publication", "readiness", "selection"]
