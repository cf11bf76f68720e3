"""MySchool's AdminSite: the libraries' raw tables (django-axes, django-oauth-toolkit) are for superusers only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from myschool.admin_site import LIBRARY_APPS
from tests import factories as f

pytestmark = pytest.mark.django_db

LIBRARY_MODELS = ("Access attempts", "Access failures", "Access logs", "Applications", "Access tokens", "Refresh tokens")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def with_library_permissions(user):
    """``user`` may view every model of the library apps: hiding must not depend on missing permissions."""
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=LIBRARY_APPS, codename__startswith="view_"))
    return user


def test_a_superuser_sees_the_library_tables(db):
    index = login(f.UserFactory(username="root", is_superuser=True)).get(reverse("admin:index")).content.decode()
    for name in LIBRARY_MODELS:
        assert name in index, name


def test_support_never_sees_the_library_tables_even_with_permissions(support):
    client = login(with_library_permissions(support))
    index = client.get(reverse("admin:index"))
    text = index.content.decode()
    assert index.status_code == 200 and "Primary emails" in text
    for name in LIBRARY_MODELS:
        assert name not in text, name
    assert not {app["app_label"] for app in index.context["available_apps"]} & LIBRARY_APPS  # the sidebar
    for label in LIBRARY_APPS:
        assert client.get(reverse("admin:app_list", args=[label])).status_code == 404
    # Another admin page's sidebar leaves them out too.
    page = client.get(reverse("admin:myschool_primaryemail_changelist"))
    assert not {app["app_label"] for app in page.context["available_apps"]} & LIBRARY_APPS


def test_a_school_administrator_never_sees_the_library_tables(admin_a):
    text = login(with_library_permissions(admin_a)).get(reverse("admin:index")).content.decode()
    for name in LIBRARY_MODELS:
        assert name not in text, name
