"""import_oneroster_csv in batches: a roster larger than a batch holds one batch of model instances,
writes one INSERT per batch, and ends exactly as an import in one batch would (people of several
schools linked across batch boundaries, demographics and memberships of every copy)."""

from __future__ import annotations

import gc
import math
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from myschool import models as m
from myschool.oneroster_csv import import_oneroster_csv, plan_import, read_bundle, writer
from myschool.oneroster_csv.store import KeyLines, RecordStore, RowStore, Workspace

pytestmark = pytest.mark.django_db

STUDENTS = 30
STAMP = "2026-11-30T08:00:00.000Z"


def write_bundle(folder: Path) -> Path:
    """Two schools; students 1–30 in school 1, every third one also in school 2 (``orgSourcedIds="s1,s2"``),
    each enrolled in school 1's class and, when in both, school 2's; a demographics row per student."""
    folder.mkdir()
    files = {
        "manifest": ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
        + [f"file.{name},bulk" for name in ("orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics")],
        "orgs": [
            "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
            f"dist,active,{STAMP},District,district,D1,",
            f"s1,active,{STAMP},School One,school,S1,dist",
            f"s2,active,{STAMP},School Two,school,S2,dist",
        ],
        "academicSessions": [
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
            f"y2026,active,{STAMP},2026-27,schoolYear,2026-08-01,2027-07-31,,2027",
            f"t1,active,{STAMP},Fall,term,2026-08-01,2027-01-31,y2026,2027",
        ],
        "courses": [
            "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,orgSourcedId",
            f"crs1,active,{STAMP},y2026,Maths,M,s1",
            f"crs2,active,{STAMP},y2026,Art,A,s2",
        ],
        "classes": [
            "sourcedId,status,dateLastModified,title,courseSourcedId,classCode,classType,schoolSourcedId,termSourcedIds",
            f"cls1,active,{STAMP},Maths 1,crs1,M1,scheduled,s1,t1",
            f"cls2,active,{STAMP},Art 1,crs2,A1,scheduled,s2,t1",
        ],
        "users": ["sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,identifier,email,grades"],
        "enrollments": ["sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary"],
        "demographics": ["sourcedId,status,dateLastModified,birthDate,sex"],
    }
    for n in range(1, STUDENTS + 1):
        orgs = '"s1,s2"' if n % 3 == 0 else "s1"
        files["users"].append(f"u{n},active,{STAMP},true,{orgs},student,pupil{n},Pupil,Number{n},{1000 + n},pupil{n}@one.example,07")
        files["enrollments"].append(f"e1-{n},active,{STAMP},cls1,s1,u{n},student,false")
        if n % 3 == 0:
            files["enrollments"].append(f"e2-{n},active,{STAMP},cls2,s2,u{n},student,false")
        files["demographics"].append(f"u{n},active,{STAMP},2014-0{1 + n % 9}-15,{'female' if n % 2 else 'male'}")
    files["users"].append(f"tch,active,{STAMP},true,\"s1,s2\",teacher,teach,Tea,Cher,T1,teach@one.example,")
    files["enrollments"].append(f"et1,active,{STAMP},cls1,s1,tch,teacher,true")
    files["enrollments"].append(f"et2,active,{STAMP},cls2,s2,tch,teacher,true")
    for name, lines in files.items():
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def bundle(tmp_path) -> Path:
    return write_bundle(tmp_path / "bundle")


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(writer, "BATCH", 4)
    return 4


def test_an_import_in_small_batches_ends_as_an_import_in_one(bundle, small_batches):
    import_oneroster_csv(bundle)

    copies = STUDENTS // 3
    assert m.Student.objects.count() == STUDENTS + copies
    for n in range(3, STUDENTS + 1, 3):  # main records in earlier batches than many of their copies
        main = m.Student.objects.get(sourced_id=f"u{n}")
        copy = m.Student.objects.get(sourced_id=f"u{n}~s2")
        assert (main.school.code, copy.school.code, copy.same_person_as_id) == ("S1", "S2", main.pk)
        assert copy.birth_date == main.birth_date and copy.sex == main.sex != ""
        assert m.CourseStudent.objects.get(sourced_id=f"e2-{n}").student == copy
    assert m.Teacher.objects.get(sourced_id="tch~s2").same_person_as == m.Teacher.objects.get(sourced_id="tch")
    assert m.CourseStudent.objects.count() == STUDENTS + copies

    # The same bundle in default-size batches finds nothing to change.
    writer.BATCH = 2000
    result = import_oneroster_csv(bundle)
    assert all(c.created == c.updated == 0 for c in result.counts.values()), result.lines()
    assert result.counts["students"].unchanged == STUDENTS + copies


def test_the_writer_holds_one_batch_of_model_instances(bundle, small_batches, monkeypatch):
    """At most the batch being written and the one just written exist as instances (before batching,
    all 40 students did when the first INSERT ran)."""
    live_at_insert: list[int] = []
    bulk_create = m.Student.objects.bulk_create.__func__

    def counting_bulk_create(manager, objs, *args, **kwargs):
        gc.collect()
        live_at_insert.append(sum(isinstance(obj, m.Student) for obj in gc.get_objects()))
        return bulk_create(manager, objs, *args, **kwargs)

    monkeypatch.setattr(type(m.Student.objects), "bulk_create", counting_bulk_create)
    import_oneroster_csv(bundle)

    planned = STUDENTS + STUDENTS // 3
    assert len(live_at_insert) >= math.ceil(planned / small_batches)
    assert max(live_at_insert) <= 2 * small_batches < STUDENTS


def test_each_batch_is_one_insert(bundle, small_batches):
    with CaptureQueriesContext(connection) as queries:
        import_oneroster_csv(bundle)
    table = m.Student._meta.db_table
    inserts = [q["sql"] for q in queries if q["sql"].startswith(f'INSERT INTO "{table}"')]
    assert len(inserts) == math.ceil((STUDENTS + STUDENTS // 3) / small_batches)


def test_the_plan_keeps_people_and_memberships_in_the_workspace(bundle):
    plan = plan_import(read_bundle(bundle))

    for model in (m.Student, m.Teacher, m.CourseStudent):
        assert isinstance(plan.records[model], RecordStore)
    assert len(plan.records[m.Student]) == STUDENTS + STUDENTS // 3
    assert plan.records[m.Student]["u3~s2"]["_same_person_as"] == "u3"
    assert isinstance(plan.records[m.School], dict)


def test_row_store_keeps_file_order_and_finds_rows_by_sourced_id():
    store = RowStore(Workspace(), {"sourcedId": 0, "name": 1})
    for n in range(2500):  # more than one pending flush
        store.append(n + 2, (f"id-{n}", f"name {n}"))

    assert len(store) == 2500
    assert [row.line for row in store][:3] == [2, 3, 4]
    index = store.index()
    assert index["id-1234"]["name"] == "name 1234" and index["id-1234"].line == 1236
    assert "id-9999" not in index and index.get("id-9999") is None


def test_record_store_replaces_in_place_and_reads_in_batches():
    records = RecordStore(Workspace())
    for n in range(5):
        records[f"r{n}"] = {"n": n}
    records["r1"] = {"n": 10}

    assert list(records) == ["r0", "r1", "r2", "r3", "r4"]
    assert records["r1"] == {"n": 10} and "r5" not in records
    assert [list(batch) for batch in records.batches(2)] == [["r0", "r1"], ["r2", "r3"], ["r4"]]


def test_key_lines_remember_the_first_or_the_latest_line():
    first, latest = KeyLines(Workspace()), KeyLines(Workspace())

    assert [first.first(("a", "b"), line) for line in (2, 5, 9)] == [None, 2, 2]
    assert [latest.latest(("a", "b"), line) for line in (2, 5, 9)] == [None, 2, 5]
    assert first.first(("a,b",), 3) is None  # parts are kept apart
