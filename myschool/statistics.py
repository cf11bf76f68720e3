"""Planner statistics after a bulk load of school data."""

from __future__ import annotations

from django.apps import apps
from django.db import connection


def school_tables_analyze() -> None:
    """``ANALYZE`` every table of the ``myschool`` app (PostgreSQL and SQLite).

    Call it after a bulk load (a CSV import, a generated demo school). Until autovacuum comes by,
    PostgreSQL's planner may believe the tables are nearly empty, and the first publication's
    duplicate-email check then picks a nested loop over every pair of people (measured: over
    7 minutes for the 54,000-person school instead of seconds). SQLite keeps its statistics in
    ``sqlite_stat1`` only when asked.
    """
    tables = [connection.ops.quote_name(model._meta.db_table) for model in apps.get_app_config("myschool").get_models()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
