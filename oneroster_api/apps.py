from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OneRosterApiConfig(AppConfig):
    """Serves the published OneRoster records to SDS over OAuth 2.0."""

    name = "oneroster_api"
    verbose_name = "OneRoster API"

    def ready(self) -> None:
        from .query.expressions import register_sqlite_functions

        # SQLite folds only ASCII case; the filter's ~ needs Unicode folding there too.
        connection_created.connect(register_sqlite_functions, dispatch_uid="oneroster_api.sqlite_functions")
