"""The LIS admin: the school-facing LIS Courses / LIS Classes pages and support's grants and settings.

Importing this package (Django's admin autodiscovery does) registers the ModelAdmins on the
admin site (MySchool's :class:`~myschool.admin_site.MySchoolAdminSite`), names the section
(:mod:`.navigation`) and adds the readiness pages (:mod:`.readiness`).
"""

from django.contrib import admin

from . import grants, history, integrations, publication, readiness, selection
from .navigation import register_lis_section

register_lis_section(admin.site)
admin.site.register_urls(readiness.readiness_urls)

__all__ = ["grants", "history", "integrations", "publication", "readiness", "selection"]
