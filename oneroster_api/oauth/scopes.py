"""Which OneRoster scopes a client may hold, and what a token request is granted (§1 decision).

The grant is the **intersection** of what the client asked for and what it is allowed: clients
commonly ask for more (gradebook scopes, say). Only an empty intersection is refused
(``invalid_scope``); no ``scope`` parameter means every scope the client is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from lis.models import IntegrationClient


def client_allowed_scopes(application) -> list[str]:
    """The scopes ``application`` may be granted: its integration's ``scopes`` (one query);
    ``[]`` for an application that belongs to no integration."""
    scopes = (
        IntegrationClient.objects.filter(application=application).values_list("integration__scopes", flat=True).first()
    )
    return list(scopes or [])


def granted_scopes(requested: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """``requested ∩ allowed`` in the order requested, without duplicates; ``[]`` means refuse."""
    allowed = set(allowed)
    granted: list[str] = []
    for scope in requested:
        if scope in allowed and scope not in granted:
            granted.append(scope)
    return granted
