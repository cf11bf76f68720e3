"""The OneRoster 1.1 REST views: one base that does auth, scopes, tenant, query, paging, output (§1–§5).

Each URL pattern is ``CollectionView`` or ``ObjectView`` bound to one
:class:`oneroster_api.endpoints.Endpoint`. A request runs, in order: the method check (405 for
anything but GET and HEAD), bearer-token authentication (401), the scope check (403), the
tenant lookup (403 when the client has no integration, 401 when it is suspended), the
per-application throttle (429), then the query: DRF's authentication, permission and throttle
classes (:mod:`.permissions`). SQL per request is constant: the token, the integration (with
the store version), and for a collection the page, preceded by the count and page boundaries
when they are not kept for this store version yet (:mod:`.paging`; a collection whose SQL reads
more than the store, or a ``sort=`` other than sourcedId, always counts) — for a single object:
the object —, plus, at most once a minute per client, the UPDATE recording its last request for
sync health. Only a publication committing in the middle of a request adds the count and page again.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from lis.oneroster import BASE_PATH

from .conf import api_setting
from .endpoints import Endpoint
from .errors import UNSUPPORTED, error_response, exception_handler
from .permissions import ApplicationRateThrottle, ClientCredentialsAuthentication, HasOneRosterScope, IsIntegrationClient
from .query import parse_fields, parse_query
from .schema.openapi import OneRosterAutoSchema
from .render import object_body, page_body
from .paging import Pager
from .selectors import published_for_tenant
from .tenancy import Tenant

JSON = "application/json"


class JSONOnly(BaseContentNegotiation):
    """The API speaks JSON whatever the ``Accept`` header says (§1), so no 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OneRosterView(APIView):
    """Base of every endpoint; subclasses implement ``get`` using :meth:`queryset`."""

    endpoint: Endpoint | None = None
    authentication_classes = (ClientCredentialsAuthentication,)
    permission_classes = (HasOneRosterScope, IsIntegrationClient)  # IsIntegrationClient sets ``tenant``
    throttle_classes = (ApplicationRateThrottle,)
    renderer_classes = (JSONRenderer,)
    parser_classes = ()
    content_negotiation_class = JSONOnly
    metadata_class = None
    http_method_names = ["get", "head"]  # OPTIONS and every writing method: 405
    schema = OneRosterAutoSchema()  # the OpenAPI description of each endpoint (schema/openapi.py)
    tenant: Tenant
    store_version: int | None = None  # read with the tenant (IsIntegrationClient); oneroster_api.paging

    def get_exception_handler(self):
        return exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        if request.method not in ("GET", "HEAD"):  # before authentication, which would read the body
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def queryset(self, url_kwargs: dict[str, str]):
        """The tenant's rows of this endpoint's kind/subtype, joined to the parent for sub-collections."""
        queryset = published_for_tenant(self.tenant, self.endpoint.kind, self.endpoint.subtype)
        if any("\x00" in value for value in url_kwargs.values()):  # no such id; PostgreSQL cannot even compare it
            return queryset.none()
        if self.endpoint.join is not None:
            queryset = queryset.filter(self.endpoint.join(self.tenant, **url_kwargs))
        return queryset

    @staticmethod
    def origin(request: Request) -> str:
        """``scheme://host`` of the request: the prefix of every absolute href."""
        return f"{request.scheme}://{request.get_host()}"


class CollectionView(OneRosterView):
    """A collection or sub-collection: filter, sort, fields, paging; ``X-Total-Count`` and ``Link``."""

    def get(self, request: Request, **url_kwargs: str) -> HttpResponse:
        query = parse_query(
            self.endpoint.kind,
            request.query_params,
            default_limit=api_setting("DEFAULT_LIMIT"),
            max_limit=api_setting("MAX_LIMIT"),
        )
        queryset = self.queryset(url_kwargs).filter(query.where)
        # The count and page boundaries kept for this store version (paging): a page starts after
        # the boundary below its offset, so no page counts the collection or walks a long OFFSET.
        pager = Pager(queryset, query.ordering, version=self.store_version, keyed=self.endpoint.store_only)
        total, page = pager.page(offset=query.offset, limit=query.limit)
        versions = set() if pager.bounds is not None else None
        body = page_body(self.endpoint.wrapper, page, self.origin(request), query.fields, query.warnings, versions=versions)
        if versions is not None and pager.stale(versions, offset=query.offset):
            # A publication committed between the lookup and the page: count and page again, as before kept bounds.
            total, page = pager.recount(offset=query.offset, limit=query.limit)
            body = page_body(self.endpoint.wrapper, page, self.origin(request), query.fields, query.warnings)
        response = HttpResponse(body, content_type=JSON)
        response["X-Total-Count"] = str(total)
        response["Link"] = link_header(request, total=total, limit=query.limit, offset=query.offset)
        return response


class ObjectView(OneRosterView):
    """One object by sourcedId (404 ``unknownobject`` when the tenant has none); ``fields`` applies."""

    def get(self, request: Request, sourced_id: str) -> HttpResponse:
        fields, warnings = parse_fields(self.endpoint.kind, request.query_params.get("fields"))
        found = self.queryset({"sourced_id": sourced_id}).filter(sourced_id=sourced_id)[:1]
        body = object_body(self.endpoint.wrapper, found, self.origin(request), fields, warnings)
        if body is None:
            raise NotFound(f"There is no {self.endpoint.wrapper} with sourcedId {sourced_id!r}.")
        response = HttpResponse(body, content_type=JSON)
        response["X-Total-Count"] = "1"
        return response


def link_header(request: Request, *, total: int, limit: int, offset: int) -> str:
    """RFC 8288 ``Link`` with first, prev (unless on the first page), next (unless on the last) and last.

    Absolute URLs keeping every other query parameter; ``offset`` and ``limit`` are replaced.
    """
    base = request.build_absolute_uri(request.path)
    params = request.query_params.copy()

    def url(page_offset: int) -> str:
        params["offset"] = str(page_offset)
        params["limit"] = str(limit)
        return f"{base}?{params.urlencode()}"

    last = (total - 1) // limit * limit if total else 0
    links = [("first", 0)]
    if offset > 0:
        links.append(("prev", max(min(offset - limit, last), 0)))
    if offset + limit < total:
        links.append(("next", offset + limit))
    links.append(("last", last))
    return ", ".join(f'<{url(page_offset)}>; rel="{rel}"' for rel, page_offset in links)


@csrf_exempt
def unsupported_path(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Any other path under the base — gradebook and resources included: 404 ``unsupportedoperation``.

    The message says what is wrong in the two cases people meet first: the bare base URL (SDS
    wants the base, but it serves nothing itself) and an endpoint written with a trailing slash.
    """
    relative = request.path.removeprefix(BASE_PATH).strip("/")
    if not relative:
        description = (
            f"{BASE_PATH} is the OneRoster 1.1 base URL; it serves nothing itself. "
            f"Request one of its endpoints, e.g. {BASE_PATH}/users."
        )
    elif request.path.endswith("/") and _is_endpoint(relative):
        description = f"OneRoster paths have no trailing slash: request {BASE_PATH}/{relative}."
    else:
        description = (
            f"{request.path} is not a OneRoster 1.1 rostering endpoint served here (no gradebook, no resources)."
        )
    return error_response(404, UNSUPPORTED, description)


def _is_endpoint(relative: str) -> bool:
    try:
        return resolve(f"{BASE_PATH}/{relative}").url_name != "unsupported"
    except Resolver404:
        return False
