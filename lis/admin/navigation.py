"""The school-facing admin navigation: *Administer › Advanced options* holds the LIS pages.

Django groups models by app. The LIS pages a school administrator uses live in the ``lis``
app next to support-only models (integrations, grants, publication runs), so the ``lis``
section is split: the models named in :data:`ADVANCED_OPTIONS_MODELS` form their own section
called :data:`ADVANCED_OPTIONS`; the rest stays under the app's name ("Microsoft sync").
For school administrators the section also holds :data:`SCHOOL_ADMINISTRATOR_MODELS` (their
Microsoft integration and publication runs, read-only); support finds those under "Microsoft sync" with its other
pages. Which models a user sees at all is still decided by their permissions.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite

from myschool.scoping import sees_all_schools

ADVANCED_OPTIONS = "Administer › Advanced options"
# object_name of each model in the section, in the order it is listed.
ADVANCED_OPTIONS_MODELS = ("CourseSelection", "ClassSelection", "SelectionChange")
# Listed after those, for school administrators only.
SCHOOL_ADMINISTRATOR_MODELS = ("Integration", "PublicationRun")


def school_facing_app_list(app_list: list[dict], *, school_administrator: bool = False) -> list[dict]:
    """Return ``app_list`` (``AdminSite.get_app_list``'s shape) with the ``lis`` section split in two.

    With ``school_administrator`` the :data:`SCHOOL_ADMINISTRATOR_MODELS` join the advanced
    options. Sections stay sorted by name; a section left without models is dropped. Pure: the
    input is not changed.
    """
    section = ADVANCED_OPTIONS_MODELS + (SCHOOL_ADMINISTRATOR_MODELS if school_administrator else ())
    arranged = []
    for app in app_list:
        if app["app_label"] != "lis":
            arranged.append(app)
            continue
        advanced = [model for model in app["models"] if model["object_name"] in section]
        advanced.sort(key=lambda model: section.index(model["object_name"]))
        rest = [model for model in app["models"] if model["object_name"] not in section]
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
        return school_facing_app_list(
            build_app_list(request, app_label), school_administrator=not sees_all_schools(request.user)
        )

    site.get_app_list = get_app_list
    site._school_facing_sections = True
