"""Issue 19, first publication faster: cheaper stage writes, fewer index entries for the store to maintain.

- The stage's index ends with ``id``: the apply inserts a run's creates ``ORDER BY id`` and
  PostgreSQL now reads them in that order instead of sorting every staged payload (at 50,000
  students a sort of ~500 MB that spilled to disk inside the run's final transaction).
- The stage's ``run`` foreign keys lose their database constraint: PostgreSQL checked each staged
  row against its run at every stage commit. Django still deletes a run's stage with the run, and
  a dead run's rows are cleared by the next run.
- PostgreSQL: the stage tables are ``UNLOGGED`` (no write-ahead log): a run's stage lives minutes
  and is worthless after a crash (the run died with the server; the next run clears it), and an
  unlogged table is emptied by crash recovery.
- The store's single-column index on ``school`` goes: ``published_school_kind`` (school, kind,
  status) serves every lookup by school, and each index costs every row the apply inserts.
- The store's five ``(kind, *_ref)`` indexes keep only the rows that have the reference: a lookup
  always names one (``… = 'x'`` implies ``IS NOT NULL`` for PostgreSQL's and SQLite's planners),
  and most rows have no ``parent_ref`` or ``course_ref`` (users have no ``school_ref``).
"""

import django.db.models.deletion
from django.db import migrations, models


STAGE_TABLES = ("lis_publicationstage", "lis_publicationstagereference")


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in STAGE_TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in STAGE_TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET LOGGED")


class Migration(migrations.Migration):

    dependencies = [
        ('lis', '0010_pull_pages_rendered'),
        ('myschool', '0006_issue14_same_person_as'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='publicationstage',
            name='publicationstage_run_op',
        ),
        migrations.RemoveIndex(
            model_name='publishedobject',
            name='published_kind_school_ref',
        ),
        migrations.RemoveIndex(
            model_name='publishedobject',
            name='published_kind_class_ref',
        ),
        migrations.RemoveIndex(
            model_name='publishedobject',
            name='published_kind_user_ref',
        ),
        migrations.RemoveIndex(
            model_name='publishedobject',
            name='published_kind_course_ref',
        ),
        migrations.RemoveIndex(
            model_name='publishedobject',
            name='published_kind_parent_ref',
        ),
        migrations.AlterField(
            model_name='publicationstage',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='lis.publicationrun'),
        ),
        migrations.AlterField(
            model_name='publicationstagereference',
            name='run',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='lis.publicationrun'),
        ),
        migrations.AlterField(
            model_name='publishedobject',
            name='school',
            field=models.ForeignKey(blank=True, db_index=False, help_text='The school whose publication owns this object (empty for a district org).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='published_objects', to='myschool.school'),
        ),
        migrations.AddIndex(
            model_name='publicationstage',
            index=models.Index(fields=['run', 'operation', 'id'], name='publicationstage_run_op_id'),
        ),
        migrations.AddIndex(
            model_name='publishedobject',
            index=models.Index(condition=models.Q(('school_ref__isnull', False)), fields=['kind', 'school_ref'], name='published_kind_school_ref'),
        ),
        migrations.AddIndex(
            model_name='publishedobject',
            index=models.Index(condition=models.Q(('class_ref__isnull', False)), fields=['kind', 'class_ref'], name='published_kind_class_ref'),
        ),
        migrations.AddIndex(
            model_name='publishedobject',
            index=models.Index(condition=models.Q(('user_ref__isnull', False)), fields=['kind', 'user_ref'], name='published_kind_user_ref'),
        ),
        migrations.AddIndex(
            model_name='publishedobject',
            index=models.Index(condition=models.Q(('course_ref__isnull', False)), fields=['kind', 'course_ref'], name='published_kind_course_ref'),
        ),
        migrations.AddIndex(
            model_name='publishedobject',
            index=models.Index(condition=models.Q(('parent_ref__isnull', False)), fields=['kind', 'parent_ref'], name='published_kind_parent_ref'),
        ),
        migrations.RunPython(unlogged, logged, elidable=False),
    ]
