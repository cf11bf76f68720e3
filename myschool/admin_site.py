"""MySchool's admin site: Django's ``AdminSite`` subclassed, with MySchool branding.

``AdminConfig.default_site`` (:class:`myschool.apps.MySchoolAdminConfig`) makes it ``admin.site``,
so every ``@admin.register`` lands here. Apps arrange their part of the admin through two
registries, filled when their ``admin`` module is imported (never by patching the site):

- :meth:`MySchoolAdminSite.register_section`: the name and model order of an app's section
  (the index, the app page, the sidebar and the breadcrumbs all use that one name);
- :meth:`MySchoolAdminSite.register_urls`: extra admin pages that are not model pages.

Model names within a section sort naturally ("7A" before "10A"). The raw tables of the libraries
MySchool uses (django-axes' login attempts, django-oauth-toolkit's applications and tokens:
:data:`LIBRARY_APPS`) are shown to superusers only — support works through MySchool's own pages
(the integration's OAuth clients and audit log), never by editing a token row. A refused admin request
(``PermissionDenied``) renders :func:`permission_denied`, a styled page with the way back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse

SITE_HEADER = "MySchool administration"

# Apps whose models are a library's bookkeeping: in the index, sidebar and app pages of superusers only.
LIBRARY_APPS = frozenset({"axes", "oauth2_provider"})


def natural_key(text: str) -> tuple:
    """Sort key that orders the numbers inside ``text`` by value: "Art 7A" < "Art 10A" < "art 11"."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text or ""))


@dataclass(frozen=True)
class Section:
    """How one app's models are shown: ``name`` everywhere, ``model_order`` (object names) first."""

    name: str
    model_order: tuple[str, ...] = ()
    description: str = ""


class MySchoolAdminSite(admin.AdminSite):
    """The MySchool admin: branded, with app sections and extra pages registered by the apps."""

    site_header = SITE_HEADER
    site_title = "MySchool admin"
    index_title = "Administration"
    site_url = "/admin/"
    empty_value_display = "—"  # as synctime.sync_time shows a missing time

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._sections: dict[str, Section] = {}
        self._url_builders: list[Callable[[MySchoolAdminSite], Iterable[URLPattern]]] = []

    # --- registries ------------------------------------------------------------------------------

    def register_section(self, app_label: str, *, name: str, model_order: Iterable[str] = (), description: str = "") -> None:
        """Show ``app_label``'s models as the section ``name``; ``model_order`` (object names) come first."""
        self._sections[app_label] = Section(name, tuple(model_order), description)

    def section_name(self, app_label: str, default: str = "") -> str:
        """The one name of ``app_label``'s section (its verbose name unless a section was registered)."""
        section = self._sections.get(app_label)
        return section.name if section else default

    def register_urls(self, build: Callable[[MySchoolAdminSite], Iterable[URLPattern]]) -> None:
        """Add the admin pages ``build(site)`` returns (wrap views in ``site.admin_view``)."""
        self._url_builders.append(build)

    # --- AdminSite hooks -------------------------------------------------------------------------

    def get_app_list(self, request, app_label=None):
        """Django's app list with each registered section's name and order; sections sorted by name.

        :data:`LIBRARY_APPS` are left out unless ``request.user`` is a superuser (so their app page
        is a 404 for everyone else, as for an app without permissions).
        """
        arranged = []
        for app in self._build_app_dict(request, app_label).values():
            if app["app_label"] in LIBRARY_APPS and not request.user.is_superuser:
                continue
            section = self._sections.get(app["app_label"])
            models = sorted(app["models"], key=lambda model: natural_key(str(model["name"])))
            if section:
                first = [m for name in section.model_order for m in models if m["object_name"] == name]
                models = first + [m for m in models if m not in first]
                app = {**app, "name": section.name, "description": section.description}
            arranged.append({**app, "models": models})
        return sorted(arranged, key=lambda app: natural_key(str(app["name"])))

    def get_urls(self):
        extra = [pattern for build in self._url_builders for pattern in build(self)]
        return [*extra, *super().get_urls()]

    def app_index(self, request, app_label, extra_context=None):
        name = self.section_name(app_label)
        context = {"title": name, "subtitle": None} if name else {}
        return super().app_index(request, app_label, {**context, **(extra_context or {})})

    def each_context(self, request):
        context = super().each_context(request)
        context["section_names"] = {label: section.name for label, section in self._sections.items()}
        return context


def permission_denied(request, exception=None):
    """``handler403``: inside the admin a styled page that says what happened and where to go; plain elsewhere."""
    from django.views.defaults import permission_denied as default_permission_denied

    site = admin.site
    if not request.path.startswith(reverse("admin:index")) or not request.user.is_authenticated:
        return default_permission_denied(request, exception)
    context = {**site.each_context(request), "title": "You cannot use this page", "exception": str(exception or "")}
    return TemplateResponse(request, "admin/403.html", context, status=403)
