"""The OpenAPI 3 document of the OneRoster API (drf-spectacular); see :mod:`.openapi`."""
