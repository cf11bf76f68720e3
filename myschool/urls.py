"""URL routes: the admin and, from the apps, the OneRoster API and the credential handoff."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from oneroster_api.oauth.views import OneRosterTokenView

# A refused admin page is a styled admin page with the way back (plain 403 elsewhere).
handler403 = "myschool.admin_site.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("oauth/token/", OneRosterTokenView.as_view(), name="oauth-token"),
    path("ims/oneroster/v1p1/", include("oneroster_api.urls")),
    path("", include("lis.urls")),
    # MySchool has no public site here: the root (and the admin's "View site") lead to the admin.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
