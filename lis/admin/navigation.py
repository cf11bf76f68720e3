"""Where the LIS pages sit in the admin: one section, *Administer › Advanced options*.

MySchool's administrators find LIS Courses and LIS Classes under *Administer › Advanced options*,
so that is the one name of the ``lis`` app's section: in the sidebar, on the index, in the
breadcrumbs and as the section page's title (the app's ``verbose_name`` is the same string, so
Django's own breadcrumbs agree). The school-facing pages come first, then the rest sorted by name.
Which pages a user sees is decided by their permissions. "LIS" is explained once, in the
section's description on the index and the section page.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite

ADVANCED_OPTIONS = "Administer › Advanced options"
# object_name of each model listed first, in this order.
ADVANCED_OPTIONS_MODELS = ("CourseSelection", "ClassSelection", "SelectionChange", "Integration", "PublicationRun")
LIS_EXPLAINED = (
    "LIS (Learning Information System) pages: choose which of the school's courses and classes MySchool "
    "sends to Microsoft School Data Sync each night, so Teams gets them."
)


def register_lis_section(site: AdminSite) -> None:
    """Name and order the ``lis`` section on ``site`` (a :class:`~myschool.admin_site.MySchoolAdminSite`)."""
    site.register_section("lis", name=ADVANCED_OPTIONS, model_order=ADVANCED_OPTIONS_MODELS, description=LIS_EXPLAINED)
