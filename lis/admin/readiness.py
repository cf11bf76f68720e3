"""The sync readiness pages in the admin: per school and per integration (:mod:`lis.readiness`).

``/admin/lis/readiness/`` sends a school administrator to their school's report and shows support
the integrations and schools to choose from; ``…/school/<id>/`` is a school's report (anyone who
may see that school's students), ``…/integration/<id>/`` an integration's (support). They are
not model pages: :func:`readiness_urls` gives them to the site's ``register_urls``.
:func:`readiness_summary` is the short form the LIS pages and the credential step show.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from myschool.models import School
from myschool.scoping import sees_all_schools, staff_school_id, user_may_access_school

from ..models import Integration
from ..readiness import ReadinessReport, integration_readiness, school_readiness

# Problem code → (admin URL name, query, name of the page's school parameter) of the page where it is fixed.
FIX_PAGES = {
    "missing_email": ("admin:myschool_primaryemail_changelist", {"problem": "missing"}, "school"),
    "duplicate_email": ("admin:myschool_primaryemail_changelist", {"problem": "duplicate"}, "school"),
    "foreign_domain": ("admin:myschool_primaryemail_changelist", {"problem": "foreign_domain"}, "school"),
    "duplicate_username": ("admin:myschool_primaryemail_changelist", {"problem": "duplicate_username"}, "school"),
    "username_missing": ("admin:myschool_primaryemail_changelist", {"problem": "username"}, "school"),
    "username_at": ("admin:myschool_primaryemail_changelist", {"problem": "username"}, "school"),
    "group_without_teacher": ("admin:lis_courseselection_changelist", {"without_teacher": "yes"}, "school"),
    "no_active_year": ("admin:myschool_academicyear_changelist", {}, "school__id__exact"),
    "no_terms": ("admin:myschool_academicyear_changelist", {}, "school__id__exact"),
    "active_year_not_current": ("admin:myschool_academicyear_changelist", {}, "school__id__exact"),
}


def user_may_view_readiness(user, school_id: int) -> bool:
    """Who may read a school's report: whoever may see its students (it names them)."""
    return user.has_perm("myschool.view_student") and user_may_access_school(user, school_id)


def fix_url(code: str, school: School, *, for_support: bool) -> str | None:
    """Where problem ``code`` of ``school`` is fixed, or None; support's link names the school."""
    if code not in FIX_PAGES:
        return None
    name, query, school_parameter = FIX_PAGES[code]
    query = {**query, school_parameter: school.pk} if for_support else query
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def readiness_summary(report: ReadinessReport) -> dict:
    """Template context for ``admin/lis/readiness/summary.html``: counts, blocking messages, the report's
    URL and ``year_notice``, the banner of an active year that is not the current one (or None)."""
    return {
        "school": report.school,
        "year_notice": next((p.message for p in report.problems if p.code == "active_year_not_current"), None),
        "blocking": [problem.message for problem in report.blocking],
        "withheld": report.withheld,
        "other_blocking": [problem.message for problem in report.other_blocking],
        "warnings": len(report.warnings),
        "url": reverse("admin:lis_readiness_school", args=[report.school.pk]),
    }


def _rows(report: ReadinessReport, *, for_support: bool) -> list[tuple]:
    return [(problem, fix_url(problem.code, report.school, for_support=for_support)) for problem in report.problems]


def readiness_index(request, *, site: AdminSite):
    if not sees_all_schools(request.user):
        school_id = staff_school_id(request.user)
        if school_id is None or not user_may_view_readiness(request.user, school_id):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:lis_readiness_school", args=[school_id]))
    context = {
        **site.each_context(request),
        "title": "Sync readiness",
        "integrations": Integration.objects.prefetch_related("schools").order_by("name"),
        "schools": School.objects.order_by("name").values_list("pk", "name", "code"),
    }
    return TemplateResponse(request, "admin/lis/readiness/index.html", context)


def school_readiness_view(request, school_id: int, *, site: AdminSite):
    if not user_may_view_readiness(request.user, school_id):
        raise PermissionDenied
    report = school_readiness(get_object_or_404(School, pk=school_id))
    context = {
        **site.each_context(request),
        "title": f"Sync readiness of {report.school.name}",
        "reports": [(report, _rows(report, for_support=sees_all_schools(request.user)))],
        "is_support": sees_all_schools(request.user),
    }
    return TemplateResponse(request, "admin/lis/readiness/report.html", context)


def integration_readiness_view(request, integration_id: int, *, site: AdminSite):
    if not sees_all_schools(request.user):
        raise PermissionDenied
    readiness = integration_readiness(get_object_or_404(Integration, pk=integration_id))
    context = {
        **site.each_context(request),
        "title": f"Sync readiness of {readiness.integration.name}",
        "integration": readiness,
        "reports": [(report, _rows(report, for_support=True)) for report in readiness.reports],
        "is_support": True,
    }
    return TemplateResponse(request, "admin/lis/readiness/report.html", context)


def readiness_urls(site: AdminSite) -> list:
    """The readiness pages of ``site`` (names ``admin:lis_readiness``, ``…_school``, ``…_integration``);
    each view renders with that ``site``'s context."""
    on_site = {"site": site}
    return [
        path("lis/readiness/", site.admin_view(readiness_index), on_site, name="lis_readiness"),
        path(
            "lis/readiness/school/<int:school_id>/",
            site.admin_view(school_readiness_view),
            on_site,
            name="lis_readiness_school",
        ),
        path(
            "lis/readiness/integration/<int:integration_id>/",
            site.admin_view(integration_readiness_view),
            on_site,
            name="lis_readiness_integration",
        ),
    ]
