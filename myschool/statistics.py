"""Planner statistics after a bulk load of school data."""

from __future__ import annotations

from django.apps import apps
from django.db import connection


def school_tables_analyze() -> None:
    """Refresh the planner statistics of the school tables: ``ANALYZE`` (PostgreSQL: the ``myschool`` tables).

    Call it after a bulk load (a CSV import, a generated demo school). Until autovacuum comes by,
    PostgreSQL's planner may believe the tables are nearly empty, and the first publication's
    duplicate-email check then picks a nested loop over every pair of people (measured: over
    7 minutes for the 54,000-person school instead of seconds). SQLite keeps its statistics in
    ``sqlite_stat1`` only when asked; there the whole file is analyzed with a sampling limit.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            models = apps.get_app_config("myschool").get_models()
            cursor.execute(f"ANALYZE {', '.join(connection.ops.quote_name(m._meta.db_table) for m in models)}")
        else:  # one statement for the whole file, each index sampled (about 1,000 rows) rather than read
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("ANALYZE main")
