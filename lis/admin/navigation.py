"""The school-facing admin navigation: *Administer › Advanced options* holds the LIS pages.

Django groups models by app. The LIS pages a school administrator uses live in the ``lis``
app next to support-only models (integrations, grants, publication runs), so the ``lis``
section is split: the models named in :data:`ADVANCED_OPTIONS_MODELS` form their own section
called :data:`ADVANCED_OPTIONS`; the rest stays under the app's name ("Microsoft sync").
Which models a user sees at all is still decided by their permissions.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite

ADVANCED_OPTIONS = "Administer › Advanced options"
# object_name of each model in the section, in the order it is listed.
ADVANCED_OPTIONS_MODELS = ("CourseSelection", "ClassSelection", "SelectionChange")


def school_facing_app_list(app_list: list[dict]) -> list[dict]:
    """Return ``app_list`` (``AdminSite.get_app_list``'s shape) with the ``lis`` section split in two.

    Sections stay sorted by name; a section left without models is dropped. Pure: the input is
    not changed.
    """
    arranged = []
    for app in app_list:
        if app["app_label"] != "lis":
            arranged.append(app)
            continue
        advanced = [model for model in app["models"] if model["object_name"] in ADVANCED_OPTIONS_MODELS]
        advanced.sort(key=lambda model: ADVANCED_OPTIONS_MODELS.index(model["object_name"]))
        rest = [model for model in app["models"] if model["object_name"] not in ADVANCED_OPTIONS_MODELS]
        if advanced:
            arranged.append({**app, "name": ADVANCED_OPTIONS, "models": advanced})
        if rest:
            arranged.append({**app, "models": rest})
    return sorted(arranged, key=lambda app: app["name"].lower())


def install_school_facing_sections(site: AdminSite) -> None:
    """Make ``site.get_app_list`` (the index, the app pages and the sidebar) use :func:`school_facing_app_list`.

    The project keeps Django's default admin site, whose class ``INSTALLED_APPS`` would have
    to name to be replaced, so the one method is wrapped on the instance. Idempotent.
    """
    if getattr(site, "_school_facing_sections", False):
        return
    build_app_list = site.get_app_list

    def get_app_list(request, app_label=None):
        return school_facing_app_list(build_app_list(request, app_label))

    site.get_app_list = get_app_list
    site._school_facing_sections = True
