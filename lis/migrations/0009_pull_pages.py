"""Issue 19 (the pull): the publication store's version, set by triggers on every write to the store.

The API keeps each collection's count and page boundaries per store version
(``oneroster_api.paging``); the version must therefore change with *every* write to
``lis_publishedobject`` and ``lis_publishedreference`` — the publication's apply, purges, tenant
tombstones, restamps, an admin's or a test's direct write alike — in the writing transaction.
Triggers do that whatever code writes:

- PostgreSQL: one statement-level trigger per table (INSERT, UPDATE, DELETE, TRUNCATE) upserts
  row 1 with ``nextval('lis_store_version_seq')``: a sequence never hands out a number twice,
  even when the transaction that took it rolls back, so a version names one committed store
  state. The upsert takes row 1's lock until the writer commits, so writers of the store queue
  behind each other from their first write (the publication's apply already holds the
  commit-order lock for all of its transaction). The trigger runs *before* the statement, so a
  writer takes row 1's lock before any row of the store: two writers can wait for each other's
  commit, never deadlock on store rows (e.g. the nightly purge deleting a district tombstone
  that a run's apply revives).
- SQLite (no statement triggers, no sequences): row-level triggers replace row 1 with a random
  63-bit number.

Readers never lock the row.
"""

from django.db import migrations, models

TABLES = ("lis_publishedobject", "lis_publishedreference")

POSTGRESQL_CREATE = [
    "CREATE SEQUENCE IF NOT EXISTS lis_store_version_seq",
    """
    CREATE OR REPLACE FUNCTION lis_store_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO lis_publishedstoreversion (id, version) VALUES (1, nextval('lis_store_version_seq'))
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
        RETURN NULL;
    END
    $$
    """,
    *(
        f"CREATE TRIGGER {table}_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION lis_store_version_bump()"
        for table in TABLES
    ),
    "INSERT INTO lis_publishedstoreversion (id, version) VALUES (1, nextval('lis_store_version_seq'))",
]
POSTGRESQL_DROP = [
    *(f"DROP TRIGGER IF EXISTS {table}_version ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS lis_store_version_bump()",
    "DROP SEQUENCE IF EXISTS lis_store_version_seq",
]
SQLITE_CREATE = [
    *(
        f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} FOR EACH ROW BEGIN "
        "INSERT OR REPLACE INTO lis_publishedstoreversion (id, version) VALUES (1, abs(random() >> 1)); END"
        for table in TABLES
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
    "INSERT INTO lis_publishedstoreversion (id, version) VALUES (1, abs(random() >> 1))",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {table}_version_{event}" for table in TABLES for event in ("insert", "update", "delete")
]


def create_triggers(apps, schema_editor):
    for statement in POSTGRESQL_CREATE if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    for statement in POSTGRESQL_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("lis", "0008_issue15_short_writes")]

    operations = [
        migrations.CreateModel(
            name="PublishedStoreVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
