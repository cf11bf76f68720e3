from django.apps import AppConfig


class OneRosterApiConfig(AppConfig):
    """Serves the published OneRoster records to SDS over OAuth 2.0."""

    name = "oneroster_api"
    verbose_name = "OneRoster API"
