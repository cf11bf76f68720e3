from django.apps import AppConfig


class LisConfig(AppConfig):
    """Sync settings and selections, Microsoft tenant integrations and the OneRoster publication."""

    name = "lis"
    verbose_name = "Administer › Advanced options"  # the admin section (lis.admin.navigation)

    def ready(self) -> None:
        # Tell the one scoping module how the school-owned LIS models reach their School.
        from myschool.scoping import register_school_path

        from . import models as m
        from .publication import changes, tenants  # noqa: F401 — change log receivers; integration-membership signal
        from .selection import receivers  # noqa: F401 — selection rows follow the school domain's groups

        for model, path in {
            m.SchoolSyncSettings: "school",
            m.CourseSelection: "course__school",
            m.ClassSelection: "school_class__school",
            m.FeatureGrant: "school",
            m.SelectionChange: "school",
            m.Integration: "schools",
            m.PublicationRun: "school",
        }.items():
            register_school_path(model, path)
