"""The API's own knobs, one namespaced settings dict (``settings.ONEROSTER_API``) with defaults.

Read at call time, so ``override_settings(ONEROSTER_API={...})`` works in tests. The defaults are
written only here; ``myschool/settings.py`` sets just the keys whose ``ONEROSTER_<KEY>`` variable is set. Keys:

- ``DEFAULT_LIMIT`` (int, 100): page size when the client sends no ``limit`` (oneroster-1.1.md §4).
- ``MAX_LIMIT`` (int, 10000): larger ``limit`` values are clamped to it, never refused (§4 decision).
- ``TOKEN_RATE`` (str, ``"30/min"``): client secret checks allowed per authenticated client id and IP address.
- ``TOKEN_IP_RATE`` (str, ``"120/min"``): token requests allowed per IP address, whatever they claim.
- ``API_RATE`` (str, ``"1200/min"``): API requests allowed per OAuth application.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from lis.oneroster import SCOPE_DEMOGRAPHICS as DEMOGRAPHICS
from lis.oneroster import SCOPE_ROSTER as ROSTER
from lis.oneroster import SCOPE_ROSTER_CORE as ROSTER_CORE

DEFAULTS: dict[str, Any] = {
    "DEFAULT_LIMIT": 100,
    "MAX_LIMIT": 10_000,
    "TOKEN_RATE": "30/min",
    "TOKEN_IP_RATE": "120/min",
    "API_RATE": "1200/min",
}

def api_setting(name: str) -> Any:
    """The value of ``ONEROSTER_API[name]``, or its default; ``KeyError`` for an unknown name."""
    default = DEFAULTS[name]
    return getattr(settings, "ONEROSTER_API", {}).get(name, default)
