"""Routes under ``/ims/oneroster/v1p1/``: the OpenAPI document, every endpoint of :data:`endpoints.ENDPOINTS`,
then a catch-all.

Ids are text (``<str:…>``: ``norecords``, ``a1`` and ``1000000`` are ordinary ids). The final
pattern answers any other path with the OneRoster error envelope instead of Django's HTML 404.
"""

from django.urls import path, re_path

from .endpoints import ENDPOINTS
from .schema.openapi import schema_view
from .views import CollectionView, ObjectView, unsupported_path

app_name = "oneroster"

urlpatterns = [path("openapi.json", schema_view, name="openapi")]
urlpatterns += [
    path(
        endpoint.route,
        (ObjectView if endpoint.single else CollectionView).as_view(endpoint=endpoint),
        name=endpoint.name,
    )
    for endpoint in ENDPOINTS
]
urlpatterns.append(re_path(r"^.*$", unsupported_path, name="unsupported"))
