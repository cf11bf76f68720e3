"""The client's address as the rate limits, the login lockout and the audit log see it.

Behind reverse proxies (README: gunicorn on 127.0.0.1 behind a TLS proxy) ``REMOTE_ADDR`` is the
proxy's address for every request: every SDS tenant would share one token bucket and every
handoff reveal would be logged "from 127.0.0.1". ``DJANGO_TRUSTED_PROXIES`` (``TRUSTED_PROXIES``,
default 0) says how many proxies in front of the app append the address they received the request
from to ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``, most load balancers). The
client is then the N-th entry from the right; entries further left were written by the client
itself and are never trusted. With 0, or a header shorter than N (a request that did not pass
every proxy), or an entry that is not an address, the client is ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address for ``request`` (``""`` when unknown); django-axes calls it too
    (``AXES_CLIENT_IP_CALLABLE``)."""
    return client_ip_from_meta(request.META)


def client_ip_from_meta(meta: Mapping) -> str:
    """:func:`client_ip` from a WSGI environ-like mapping (``REMOTE_ADDR``, ``HTTP_X_FORWARDED_FOR``),
    such as django-oauth-toolkit's request headers."""
    remote = meta.get("REMOTE_ADDR") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote
    return _address(hops[-proxies]) or remote


def _address(hop: str) -> str | None:
    """``hop`` without a port (``203.0.113.7:4711``, ``[2001:db8::1]:4711``) if it is an IP address."""
    candidates = [hop]
    if hop.startswith("[") and "]" in hop:
        candidates.append(hop[1 : hop.index("]")])
    elif hop.count(":") == 1:
        candidates.append(hop.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
