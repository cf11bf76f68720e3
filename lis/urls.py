"""LIS routes outside the admin: the credential handoff page (``/handoff/``)."""

from django.urls import path

from . import views

app_name = "lis"

urlpatterns = [path("handoff/", views.handoff_page, name="handoff")]
