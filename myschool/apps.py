from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class MySchoolConfig(AppConfig):
    """The school domain: schools, years, terms, subjects, courses, classes, people, memberships."""

    name = "myschool"
    verbose_name = "School"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from . import lookups  # noqa: F401  (registers the any_of lookup on CharField)


class MySchoolAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with MySchool's own site as ``admin.site`` (Django's documented way)."""

    default = False  # named in INSTALLED_APPS; MySchoolConfig stays this module's default
    default_site = "myschool.admin_site.MySchoolAdminSite"
