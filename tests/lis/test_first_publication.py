"""Issue 19, first publication faster: the shortcuts keep the results (both databases).

- A kind the store has no object of is diffed without a store lookup per batch; an object of that
  kind created by another run between the diff and the apply still makes the run diff again.
- The stage is emptied with ``TRUNCATE`` on PostgreSQL when the run is alone in it, else (and on
  SQLite) its rows are deleted in batches; another run's rows are never touched. A lock on the stage
  released soon (an autovacuum's, cancelled by PostgreSQL) is waited for.
- The stage's run keys carry no database constraint; deleting a run still deletes its stage.
"""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lis.models import PublicationRun, PublicationStage, PublicationStageReference, PublishedObject, RunStatus
from lis.publication import publish_school, service
from lis.publication.mapping import PublishedRecord
from lis.publication.stage import StageWriter, stage_clear
from tests import factories as f
from tests.lis.publication_fixtures import small_school

pytestmark = pytest.mark.django_db(transaction=True)


def staged_run(school, sourced_ids: list[str]) -> PublicationRun:
    """A running run of ``school`` with creates of users ``sourced_ids`` (one ``orgs`` reference each) staged."""
    run = PublicationRun.objects.create(school=school, status=RunStatus.RUNNING)
    writer = StageWriter(run)
    try:
        records = [
            PublishedRecord("user", sid, {"username": sid, "orgs": []}, subtype="student", lists={"orgs": [school.sourced_id]})
            for sid in sourced_ids
        ]
        writer.creates(records, lambda record: school.pk)
    finally:
        writer.close()
    return run


def stage_of(run: PublicationRun) -> tuple[int, int]:
    return PublicationStage.objects.filter(run=run).count(), PublicationStageReference.objects.filter(run=run).count()


def store_lookups(queries: CaptureQueriesContext) -> list[str]:
    """The diff's lookups of a batch's sourcedIds in the store (an IN list, or one array on PostgreSQL)."""
    store = PublishedObject._meta.db_table
    return [
        q["sql"] for q in queries.captured_queries
        if q["sql"].startswith(f'SELECT "{store}"."id"') and "content_hash" in q["sql"]
        and any(f'"{store}"."sourced_id" {form}' in q["sql"] for form in ("IN (", "= ANY("))
    ]


def test_a_first_publication_makes_no_store_lookup_per_batch_and_publishes_the_same():
    small = small_school()
    with CaptureQueriesContext(connection) as first:
        result = publish_school(small.school)
    assert result.status == RunStatus.SUCCEEDED
    assert not store_lookups(first)
    assert result.counts()["user"] == {"created": 9, "updated": 0, "deleted": 0, "unchanged": 0}

    with CaptureQueriesContext(connection) as second:
        again = publish_school(small.school)
    assert store_lookups(second)
    assert all(c["created"] == c["updated"] == c["deleted"] == 0 for c in again.counts().values())


def test_an_object_created_meanwhile_on_a_first_publication_makes_the_run_diff_again(monkeypatch):
    small = small_school()
    other = f.SchoolFactory(code="OTH")
    student = small.students[0]
    real_apply, applies = service._apply, []

    def another_run_commits_first(publisher, run, **kwargs):
        applies.append(run.pk)
        if len(applies) == 1:  # as another school's run would, after this run found no user in the store
            PublishedObject.objects.create(
                kind="user", sourced_id=student.sourced_id, school=other, subtype="student",
                payload={"username": "old"}, content_hash="x", date_last_modified=timezone.now(),
            )
        return real_apply(publisher, run, **kwargs)

    monkeypatch.setattr(service, "_apply", another_run_commits_first)
    result = publish_school(small.school)

    assert result.status == RunStatus.SUCCEEDED and len(applies) == 2
    assert result.counts()["user"] == {"created": 8, "updated": 1, "deleted": 0, "unchanged": 0}
    row = PublishedObject.objects.get(kind="user", sourced_id=student.sourced_id)
    assert row.school_id == small.school.pk and row.payload["givenName"] == student.given_name
    assert row.date_last_modified == result.run.committed_at
    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()


def test_clearing_a_runs_stage_keeps_another_runs_rows():
    small = small_school()
    other = f.SchoolFactory(code="OTH")
    mine, theirs = staged_run(small.school, ["u-1", "u-2"]), staged_run(other, ["u-3"])
    assert stage_of(mine) == (2, 2) and stage_of(theirs) == (1, 1)

    stage_clear([mine.pk])

    assert stage_of(mine) == (0, 0) and stage_of(theirs) == (1, 1)
    stage_clear([theirs.pk])  # alone now (TRUNCATE on PostgreSQL)
    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()


def test_clearing_the_stage_while_another_run_writes_it_deletes_the_rows():
    small = small_school()
    mine = staged_run(small.school, ["u-1", "u-2"])
    if connection.vendor != "postgresql":
        stage_clear([mine.pk])
        assert stage_of(mine) == (0, 0)
        return
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"], host=settings["HOST"], port=settings["PORT"]
    ) as other:  # another run in the middle of a stage transaction
        other.execute(f"LOCK TABLE {PublicationStage._meta.db_table} IN ROW EXCLUSIVE MODE")
        with CaptureQueriesContext(connection) as queries:
            stage_clear([mine.pk])  # TRUNCATE waits for it a moment, then the rows are deleted instead
        assert stage_of(mine) == (0, 0)
        assert not truncated(queries)


def test_clearing_the_stage_waits_for_a_lock_released_soon_and_truncates():
    """As an autovacuum of the stage holds a lock TRUNCATE conflicts with until PostgreSQL cancels it
    (``deadlock_timeout`` after a lock request waits for it): the run waits for it rather than giving up."""
    small = small_school()
    mine = staged_run(small.school, ["u-1", "u-2"])
    if connection.vendor != "postgresql":  # TRUNCATE is PostgreSQL's shortcut: SQLite deletes the rows
        with CaptureQueriesContext(connection) as queries:
            stage_clear([mine.pk])
        assert stage_of(mine) == (0, 0) and not truncated(queries)
        return
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"], host=settings["HOST"], port=settings["PORT"]
    ) as other:
        other.execute(f"LOCK TABLE {PublicationStage._meta.db_table} IN SHARE UPDATE EXCLUSIVE MODE")  # VACUUM's lock
        releases = threading.Timer(0.5, other.commit)
        releases.start()
        try:
            with CaptureQueriesContext(connection) as queries:
                stage_clear([mine.pk])
        finally:
            releases.join()
    assert stage_of(mine) == (0, 0)
    assert truncated(queries)


def truncated(queries: CaptureQueriesContext) -> bool:
    return any(q["sql"].startswith("TRUNCATE") for q in queries.captured_queries)


def test_deleting_a_run_deletes_its_stage():
    small = small_school()
    run = staged_run(small.school, ["u-1"])
    run.finished_at = timezone.now() - dt.timedelta(days=1)
    run.delete()
    assert not PublicationStage.objects.exists() and not PublicationStageReference.objects.exists()


def test_the_cyclic_garbage_collector_is_off_during_the_diff_only():
    """Records hold no cycles, so the diff runs without Python's cyclic collector (issue 19: 13 → 8 s of
    CPU at 50,000 students); it is on again after the run, whether the run succeeds or fails."""
    import gc

    small = small_school()
    during: list[bool] = []
    assert gc.isenabled()
    result = publish_school(small.school, progress=lambda kind, count: during.append(gc.isenabled()))
    assert result.status == RunStatus.SUCCEEDED
    assert during and not any(during)
    assert gc.isenabled()

    def fails(kind, count):
        raise RuntimeError("the diff failed")

    with pytest.raises(RuntimeError):
        publish_school(small.school, progress=fails)
    assert gc.isenabled()


def test_the_apply_analyzes_the_store_after_creating_many_objects(monkeypatch):
    """PostgreSQL: after creating at least ``ANALYZE_AFTER_CREATES`` objects the apply analyzes the store before
    writing the references, so their join is planned on the store's real size. (A store emptied by DELETEs and
    analyzed since said 0 rows on 213,517 pages: the join ran 9 min 40 s at 50,000 students, issue 19.)"""
    from lis.publication import stage

    small = small_school()
    monkeypatch.setattr(stage, "ANALYZE_AFTER_CREATES", 5)
    store = PublishedObject._meta.db_table
    with CaptureQueriesContext(connection) as first:
        assert publish_school(small.school).status == RunStatus.SUCCEEDED
    statements = [q["sql"] for q in first.captured_queries]
    analyzed = [i for i, sql in enumerate(statements) if sql == f'ANALYZE "{store}"']
    if connection.vendor != "postgresql":
        assert not analyzed
        return
    creates = next(i for i, sql in enumerate(statements) if sql.startswith(f'INSERT INTO "{store}"'))
    references = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "lis_publishedreference"'))
    assert len(analyzed) == 1 and creates < analyzed[0] < references
    after_run = [sql for sql in statements if sql.startswith("ANALYZE ") and sql != f'ANALYZE "{store}"']
    assert after_run == ["ANALYZE lis_publishedreference"]  # the objects were analyzed once, in the apply

    with CaptureQueriesContext(connection) as second:  # nothing to create: no ANALYZE inside the apply
        publish_school(small.school)
    statements = [q["sql"] for q in second.captured_queries]
    assert f'ANALYZE "{store}"' not in statements
    assert [sql for sql in statements if sql.startswith("ANALYZE ")] == ["ANALYZE lis_publishedobject, lis_publishedreference"]
