"""The store version's SQLite triggers again (issue 19).

On SQLite, Django alters a column by rebuilding the table, and a rebuild drops the table's
triggers: ``0011_issue19_first_publication`` (the store's ``school`` column losing its index)
rebuilt ``lis_publishedobject`` after ``0009_pull_pages`` had put the version triggers on it, so
writes to the store stopped changing the version and the API could serve a stale count. This
migration recreates them (PostgreSQL alters in place and keeps its statement triggers).

Any later migration that alters a column of ``lis_publishedobject`` or ``lis_publishedreference``
on SQLite must recreate them the same way; ``tests/oneroster_api/test_pull_pages.py`` checks that
every store table has its triggers after migrating.
"""

from django.db import migrations

TABLES = ("lis_publishedobject", "lis_publishedreference")
EVENTS = ("INSERT", "UPDATE", "DELETE")


def recreate(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table in TABLES:
        for event in EVENTS:
            name = f"{table}_version_{event.lower()}"
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN "
                "INSERT OR REPLACE INTO lis_publishedstoreversion (id, version) VALUES (1, abs(random() >> 1)); END"
            )
    schema_editor.execute("INSERT OR REPLACE INTO lis_publishedstoreversion (id, version) VALUES (1, abs(random() >> 1))")


class Migration(migrations.Migration):
    dependencies = [("lis", "0012_issue19_change_log")]

    operations = [migrations.RunPython(recreate, migrations.RunPython.noop, elidable=False)]
