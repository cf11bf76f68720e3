from django.apps import AppConfig


class MySchoolConfig(AppConfig):
    """The school domain: schools, years, terms, subjects, courses, classes, people, memberships."""

    name = "myschool"
    verbose_name = "School"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
