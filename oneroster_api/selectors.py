"""Read paths over the publication store: a tenant's records of one kind, and the sub-collection joins.

Each join returns a ``Q`` on the child rows for one parent id (oneroster-1.1.md §2). A parent that
does not exist, or belongs to another tenant, simply matches nothing (200 with an empty list, §5).
Joins through enrollments count **active enrollments only**: a tombstoned enrollment means the user
left the class, so ``/classes/{id}/students`` no longer lists them. The joined objects themselves
are returned whatever their status (``filter=status='active'`` narrows them). Every subquery
over enrollments is itself tenant-scoped.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import OrderBy

from lis.models import Kind, PublishedObject, PublishedReference, PublishedStatus

from .tenancy import Tenant


def published_for_tenant(tenant: Tenant, kind: str, subtype: str | None = None) -> QuerySet[PublishedObject]:
    """``PublishedObject`` rows of ``kind`` (and ``subtype``: role, type or classType) the tenant may see."""
    queryset = PublishedObject.objects.filter(kind=kind).filter(tenant.scope(kind))
    if subtype:
        queryset = queryset.filter(subtype=subtype)
    return queryset


def page_keys(queryset: QuerySet, ordering: tuple[OrderBy, ...], *, offset: int, limit: int, total: int) -> QuerySet:
    """The ``pk`` values of rows ``[offset, offset + limit)`` of ``queryset`` in ``ordering`` (a subquery).

    ``total`` is the queryset's count. OFFSET costs a scan of every row it skips, so a page in the
    back half is taken from the end instead: the reversed ordering, skipping ``total - offset -
    limit`` rows — the deepest page of 466,625 enrollments then scans 5,000 index entries, not
    466,625, and a full pull scans half as many. ``ordering`` must be total (every ordering of
    ``query.compiler`` ends with ``sourced_id``, unique within a kind), so the reverse order is
    exactly the forward one backwards; NULLS FIRST/LAST swap with the direction. The caller orders
    the page itself (these keys carry no order).
    """
    end = min(offset + limit, total)
    from_end = total - end
    if offset < total and from_end < offset:
        backwards = [expression.copy().reverse_ordering() for expression in ordering]
        return queryset.order_by(*backwards).values("pk")[from_end : total - offset]
    return queryset.order_by(*ordering).values("pk")[offset : offset + limit]


def _active_enrollments(tenant: Tenant, **lookups) -> QuerySet[PublishedObject]:
    return published_for_tenant(tenant, Kind.ENROLLMENT).filter(status=PublishedStatus.ACTIVE, **lookups)


def _has_reference(name: str, sourced_id: str) -> Q:
    return Q(Exists(PublishedReference.objects.filter(obj=OuterRef("pk"), name=name, sourced_id=sourced_id)))


def owned_by_school_ref(tenant: Tenant, *, school_id: str) -> Q:
    """Classes, enrollments (``school``) and courses (``org``) of school ``school_id``."""
    return Q(school_ref=school_id)


def users_of_school(tenant: Tenant, *, school_id: str) -> Q:
    """Users whose ``orgs`` include ``school_id``."""
    return _has_reference("orgs", school_id)


def terms_of_school(tenant: Tenant, *, school_id: str) -> Q:
    """Sessions published by the school whose org sourcedId (``School.sourced_id``) is ``school_id``."""
    return Q(school__sourced_id=school_id)


def enrollments_of_school_class(tenant: Tenant, *, school_id: str, class_id: str) -> Q:
    """Enrollments in class ``class_id`` at school ``school_id``."""
    return Q(school_ref=school_id, class_ref=class_id)


def users_of_school_class(tenant: Tenant, *, school_id: str, class_id: str, role: str) -> Q:
    """Users actively enrolled with ``role`` in class ``class_id`` at school ``school_id``."""
    enrollments = _active_enrollments(tenant, school_ref=school_id, class_ref=class_id, subtype=role)
    return Q(sourced_id__in=enrollments.values("user_ref"))


def users_of_class(tenant: Tenant, *, class_id: str, role: str) -> Q:
    """Users actively enrolled with ``role`` in class ``class_id``."""
    return Q(sourced_id__in=_active_enrollments(tenant, class_ref=class_id, subtype=role).values("user_ref"))


def classes_of_term(tenant: Tenant, *, term_id: str) -> Q:
    """Classes whose ``terms`` include ``term_id``."""
    return _has_reference("terms", term_id)


def grading_periods_of_term(tenant: Tenant, *, term_id: str) -> Q:
    """Sessions whose ``parent`` is ``term_id``."""
    return Q(parent_ref=term_id)


def classes_of_course(tenant: Tenant, *, course_id: str) -> Q:
    """Classes whose ``course`` is ``course_id``."""
    return Q(course_ref=course_id)


def classes_of_user(tenant: Tenant, *, user_id: str, role: str | None = None) -> Q:
    """Classes in which user ``user_id`` has an active enrollment (with ``role``, when given)."""
    enrollments = _active_enrollments(tenant, user_ref=user_id)
    if role:
        enrollments = enrollments.filter(subtype=role)
    return Q(sourced_id__in=enrollments.values("class_ref"))


# The joins whose SQL reads only the store (PublishedObject, PublishedReference): a collection
# joined by one of them changes only with the store version (oneroster_api.paging).
# terms_of_school is not one: it reads the school's sourcedId from myschool's School table.
STORE_ONLY_JOINS = frozenset(
    {
        owned_by_school_ref,
        users_of_school,
        enrollments_of_school_class,
        users_of_school_class,
        users_of_class,
        classes_of_term,
        grading_periods_of_term,
        classes_of_course,
        classes_of_user,
    }
)
