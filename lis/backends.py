"""The authentication backend that turns support's feature grants into a school administrator's permissions."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from myschool.scoping import staff_school_id

from .models import FeatureGrant
from .permissions import FEATURE_PERMISSIONS

_CACHE_ATTRIBUTE = "_lis_feature_grant_perm_cache"


class FeatureGrantBackend(BaseBackend):
    """Grants LIS permissions to the members of groups that support granted an LIS feature.

    A user's permissions are the union of :data:`lis.permissions.FEATURE_PERMISSIONS` over every
    ``FeatureGrant(feature, school=<the user's SchoolStaff school>, group ∈ <the user's groups>)``.
    A grant for any other school gives nothing: a school administrator's rows are their own
    school's (see :mod:`myschool.scoping`). Inactive and anonymous users get nothing; object
    permissions are not supported (always empty). The set is cached on the user object, so at
    most two queries per request (the school, shared with scoping, and the grants).

    This backend never authenticates anyone: ``authenticate`` and ``get_user`` return None.
    Add it to ``AUTHENTICATION_BACKENDS`` after ``ModelBackend``.
    """

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        cached = getattr(user_obj, _CACHE_ATTRIBUTE, None)
        if cached is None:
            cached = set()
            school_id = staff_school_id(user_obj)
            if school_id is not None:
                features = FeatureGrant.objects.filter(school_id=school_id, group__user=user_obj).values_list(
                    "feature", flat=True
                )
                for feature in set(features):
                    cached |= FEATURE_PERMISSIONS.get(feature, frozenset())
            setattr(user_obj, _CACHE_ATTRIBUTE, cached)
        return cached

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        """True for ``lis`` when a grant gives the user any LIS permission."""
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
