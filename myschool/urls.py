"""URL routes: the admin and, from the apps, the OneRoster API and the credential handoff."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
