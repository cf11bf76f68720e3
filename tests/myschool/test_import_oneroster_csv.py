"""import_oneroster_csv: the contoso-25 sample roster (myschool/sample_data), a hand-made two-school bundle and broken bundles."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from myschool import models as m
from myschool.oneroster_csv import BundleError, import_oneroster_csv

BUNDLES = Path(__file__).parent / "bundles"
CONTOSO = settings.SAMPLE_ROSTER

pytestmark = pytest.mark.django_db

DOMAIN_MODELS = [
    m.SchoolGroup, m.School, m.AcademicYear, m.Term, m.Subject, m.Course, m.SchoolClass, m.Student, m.Teacher,
    m.CourseStudent, m.ClassStudent, m.CourseTeacher, m.ClassTeacher,
]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in DOMAIN_MODELS}


def snapshot() -> dict[str, list[tuple]]:
    """Every field of every domain row, to prove a re-import changes nothing."""
    return {model.__name__: sorted(model.objects.values_list()) for model in DOMAIN_MODELS}


def test_contoso_sample_imports_exactly():
    call_command("import_oneroster_csv", str(CONTOSO))

    assert m.School.objects.count() == 2
    contoso = m.School.objects.get(code="10001")
    assert contoso.name == "Contoso High School"
    assert contoso.sourced_id == "org-10001"
    assert contoso.academic_years.count() == 1
    assert m.Term.objects.filter(year__school=contoso).count() == 1
    assert contoso.active_year.sourced_id == "as-year-2018"
    assert contoso.active_year.school_year == "2018"
    fabrikam = m.School.objects.get(code="10002")
    assert fabrikam.academic_years.count() == 0
    assert m.Subject.objects.count() == 2
    assert m.Course.objects.count() == 2
    assert m.SchoolClass.objects.count() == 0
    assert m.Student.objects.count() == 22
    assert m.Teacher.objects.count() == 2
    assert m.CourseStudent.objects.count() == 44
    assert m.CourseTeacher.objects.count() == 2

    # Identifiers and ids are kept as given, not renumbered.
    student = m.Student.objects.get(sourced_id="usr-13007")
    assert (student.student_number, student.username, student.primary_email) == ("13012", "RLees", "rlees@contoso.example")
    assert student.grade_level == "09"
    algebra = m.Course.objects.get(sourced_id="cls-11001")
    assert algebra.subject.sourced_id == "crs-11001"
    assert list(algebra.terms.values_list("sourced_id", flat=True)) == ["as-term-12000"]
    assert m.CourseTeacher.objects.get(sourced_id="enr-t-11001-14001").is_main_teacher is True


def test_reimporting_the_same_bundle_changes_nothing(capsys):
    call_command("import_oneroster_csv", str(CONTOSO))
    before = snapshot()
    capsys.readouterr()

    call_command("import_oneroster_csv", str(CONTOSO))

    assert snapshot() == before
    out = capsys.readouterr().out
    assert "students: 0 created, 0 updated, 22 unchanged" in out


def test_reimport_updates_rows_matched_by_sourced_id_and_nothing_else(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(CONTOSO, bundle)
    call_command("import_oneroster_csv", str(bundle))
    untouched = m.Student.objects.get(sourced_id="usr-13002")
    users = bundle / "users.csv"
    users.write_text(users.read_text().replace("oklein@contoso.example", "ora.klein@contoso.example"))

    result = import_oneroster_csv(bundle)

    assert result.counts["students"].updated == 1
    assert result.counts["students"].unchanged == 21
    assert m.Student.objects.get(sourced_id="usr-13001").primary_email == "ora.klein@contoso.example"
    assert m.Student.objects.get(sourced_id="usr-13002") == untouched
    assert m.Student.objects.count() == 22


def test_two_school_bundle_maps_every_kind():
    result = import_oneroster_csv(BUNDLES / "valid-two-schools")

    north, south = m.School.objects.get(code="N1"), m.School.objects.get(code="S2")
    assert north.group.sourced_id == "org-d1" and north.group.code == "D1"
    assert south.group == north.group
    # A session used by both schools is copied to each under <id>~<school id>; one used by one school keeps its id.
    assert set(m.AcademicYear.objects.values_list("sourced_id", "school__code")) == {
        ("as-y27~org-s1", "N1"),
        ("as-y27~org-s2", "S2"),
    }
    assert set(m.Term.objects.values_list("sourced_id", "year__sourced_id")) == {
        ("as-t1", "as-y27~org-s1"),
        ("as-t2~org-s1", "as-y27~org-s1"),
        ("as-t2~org-s2", "as-y27~org-s2"),
    }
    assert north.active_year.sourced_id == "as-y27~org-s1"
    # A district course used by two schools becomes a Subject in each; the homeroom-only course is skipped.
    assert set(m.Subject.objects.values_list("sourced_id", "school__code", "subject_area")) == {
        ("crs-math", "N1", "Math"),
        ("crs-sci~org-s1", "N1", "Science,Biology"),
        ("crs-sci~org-s2", "S2", "Science,Biology"),
    }
    math = m.Course.objects.get(sourced_id="cls-math-a")
    assert (math.grade_levels, math.periods, math.location) == ("09", "1,2", "Room 1")
    assert set(math.terms.values_list("sourced_id", flat=True)) == {"as-t1", "as-t2~org-s1"}
    form = m.SchoolClass.objects.get(sourced_id="cls-home-9")
    assert (form.school, form.grade_level, form.year.sourced_id) == (north, "09", "as-y27~org-s1")
    zoe = m.Student.objects.get(sourced_id="usr-s1")
    assert (zoe.given_name, zoe.family_name, zoe.birth_date, zoe.sex) == ("Zoë", "Müller", dt.date(2011, 4, 2), "female")
    assert m.Student.objects.get(sourced_id="usr-s3").status == m.Status.LEFT  # enabledUser=false
    assert m.CourseStudent.objects.get(sourced_id="enr-1").begin_date == dt.date(2026, 8, 1)
    assert m.ClassTeacher.objects.get(sourced_id="enr-10").is_main_teacher
    assert not m.CourseTeacher.objects.get(sourced_id="enr-5").is_main_teacher
    assert result.skipped == {
        "courses used only by homeroom classes": 1,
        "demographics of users other than students": 1,
        "orgs of other types": 1,
        "users with role parent": 1,
    }


def test_zip_bundle_imports_like_the_folder():
    import_oneroster_csv(BUNDLES / "valid-two-schools.zip")
    assert m.Student.objects.count() == 3
    assert m.CourseStudent.objects.count() + m.ClassStudent.objects.count() == 6


def test_school_code_restricts_the_import_to_one_school():
    import_oneroster_csv(BUNDLES / "valid-two-schools", school_code="S2")

    assert list(m.School.objects.values_list("code", flat=True)) == ["S2"]
    assert list(m.Student.objects.values_list("sourced_id", flat=True)) == ["usr-s3"]
    # The year is shared with N1 in the bundle, so it keeps the same copied id as a full import would give it.
    assert list(m.AcademicYear.objects.values_list("sourced_id", flat=True)) == ["as-y27~org-s2"]


def test_unknown_school_code_is_an_error():
    with pytest.raises(BundleError, match="no school org has the identifier 'NOPE'"):
        import_oneroster_csv(BUNDLES / "valid-two-schools", school_code="NOPE")


def test_passwords_in_the_bundle_are_never_stored():
    import_oneroster_csv(BUNDLES / "valid-two-schools")
    for model in DOMAIN_MODELS:
        assert "secret-never-stored" not in str(list(model.objects.values_list()))


BROKEN = [
    ("broken-unknown-column", "users.csv:1: unknown column 'nickname'"),
    ("broken-missing-column", "classes.csv:1: required column 'termSourcedIds' is missing"),
    ("broken-missing-value", "users.csv:3: givenName is required"),
    ("broken-dangling-reference", "enrollments.csv:10: userSourcedId 'usr-missing' is not in users.csv"),
    ("broken-bad-date", "academicSessions.csv:4: startDate '2027-13-01' is not a date (YYYY-MM-DD)"),
    ("broken-bad-enum", "classes.csv:5: classType 'lecture' is not one of homeroom, scheduled"),
    ("broken-duplicate-sourcedid", "users.csv:6: duplicate sourcedId 'usr-t1' (first on line 5)"),
    ("broken-not-utf8", "users.csv:2: the file is not UTF-8 text"),
    ("broken-zip-without-manifest.zip", "manifest.csv: the bundle has no manifest.csv"),
    ("broken-username-with-at", "users.csv:4: username 'ana.lima@south.example' contains '@'"),
    ("broken-cross-school-enrollment", "enrollments.csv:7: the class's school is not one of the user's orgSourcedIds"),
    ("broken-term-outside-year", "academicSessions.csv:3: term 'as-t1' lies outside its school year"),
    ("broken-bulk-file-missing", "enrollments.csv: the manifest lists it as bulk but the bundle does not contain it"),
]


@pytest.mark.parametrize(("bundle", "expected"), BROKEN, ids=[b for b, _ in BROKEN])
def test_broken_bundle_is_rejected_with_file_line_and_reason_and_writes_nothing(bundle, expected):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_oneroster_csv", str(BUNDLES / bundle))

    message = str(excinfo.value)
    assert message.startswith("Nothing was imported")
    assert expected in message
    assert set(row_counts().values()) == {0}


def test_a_broken_bundle_over_existing_data_changes_nothing():
    call_command("import_oneroster_csv", str(BUNDLES / "valid-two-schools"))
    before = snapshot()
    with pytest.raises(CommandError):
        call_command("import_oneroster_csv", str(BUNDLES / "broken-cross-school-enrollment"))
    assert snapshot() == before


def test_every_problem_of_every_file_is_collected(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "valid-two-schools", bundle)
    header = (bundle / "enrollments.csv").read_text().splitlines()[0]
    rows = [f"bad-{n},,,cls-math-a,org-s1,usr-s1,student,maybe,," for n in range(40)]
    (bundle / "enrollments.csv").write_text("\n".join([header, *rows]) + "\n")
    sessions = bundle / "academicSessions.csv"
    sessions.write_text(sessions.read_text().replace("2026-12-31", "31/12/2026"))

    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(bundle)

    problems = excinfo.value.problems
    assert len(problems) == 41
    assert str(problems[0]) == "academicSessions.csv:3: endDate '31/12/2026' is not a date (YYYY-MM-DD)"
    assert sum(1 for p in problems if p.reason == "primary 'maybe' is not true or false") == 40
    summary = excinfo.value.summary(limit=10)
    assert summary.count("\n") == 10
    assert summary.endswith("… and 31 more problems.")


def test_reference_problems_are_all_reported_together(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "valid-two-schools", bundle)
    header = (bundle / "enrollments.csv").read_text().splitlines()[0]
    rows = [f"bad-{n},,,cls-missing-{n},org-s1,usr-s1,student,false,," for n in range(60)]
    (bundle / "enrollments.csv").write_text("\n".join([header, *rows]) + "\n")

    with pytest.raises(CommandError) as excinfo:
        call_command("import_oneroster_csv", str(bundle))

    message = str(excinfo.value)
    assert "60 problem(s)" in message
    assert "enrollments.csv:2: classSourcedId 'cls-missing-0' is not in classes.csv" in message
    assert "… and 10 more problems." in message


def test_a_school_code_taken_by_another_school_is_reported_not_raised(school_a):
    school_a.code = "N1"
    school_a.save()
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(BUNDLES / "valid-two-schools")
    assert "orgs.csv:3: school N1 already exists with sourcedId" in excinfo.value.summary()
    assert m.School.objects.count() == 1


def test_a_sourced_id_used_by_another_kind_is_reported(school_a):
    m.Teacher.objects.create(school=school_a, sourced_id="usr-s1", staff_number="X", given_name="A", family_name="B")
    with pytest.raises(BundleError, match="users.csv:2: sourcedId 'usr-s1' is already used by a teacher"):
        import_oneroster_csv(BUNDLES / "valid-two-schools")


def test_delta_manifests_are_refused(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "valid-two-schools", bundle)
    manifest = bundle / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("file.users,bulk", "file.users,delta"))
    with pytest.raises(BundleError, match="file.users is 'delta'; only bulk and absent are supported"):
        import_oneroster_csv(bundle)


def test_absent_files_are_ignored_even_when_present(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "valid-two-schools", bundle)
    manifest = bundle / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("file.demographics,bulk", "file.demographics,absent"))
    import_oneroster_csv(bundle)
    assert m.Student.objects.get(sourced_id="usr-s1").birth_date is None


def test_missing_path_is_a_clear_error():
    with pytest.raises(CommandError, match="no such folder or zip file"):
        call_command("import_oneroster_csv", "/nonexistent/bundle")


# --- hostile files: huge values, control characters, zip bombs, two bundles in one zip ---------


def _copy(tmp_path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "valid-two-schools", bundle)
    return bundle


def _replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("length", [10_001, 131_073, 400_000])
def test_a_value_over_the_field_limit_is_a_file_line_problem(tmp_path, length):
    bundle = _copy(tmp_path)
    lines = (bundle / "users.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",", "," + "x" * length, 1)  # the second column of line 3
    (bundle / "users.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_oneroster_csv", str(bundle))
    assert "users.csv:3: a value is longer than 10,000 characters" in str(excinfo.value)
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize(("character", "shown"), [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x7f", "U+007F"), ("\x85", "U+0085")])
def test_control_characters_are_refused_with_file_and_line(tmp_path, character, shown):
    bundle = _copy(tmp_path)
    lines = (bundle / "users.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("givenName")] += character + "x"
    lines[1] = ",".join(cells)
    (bundle / "users.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(bundle)
    assert [str(p) for p in excinfo.value.problems] == [f"users.csv:2: givenName contains a control character ({shown})"]
    assert not m.Student.objects.exists()


def test_a_zip_with_two_manifests_is_reported_as_such(tmp_path):
    import zipfile

    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for folder in ("north", "south"):
            for csv_file in (BUNDLES / "valid-two-schools").iterdir():
                zipped.write(csv_file, f"{folder}/{csv_file.name}")
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(archive)
    assert str(excinfo.value) == (
        "two.zip: the zip holds 2 manifest.csv files (north/manifest.csv, south/manifest.csv); "
        "a zip must hold exactly one bundle"
    )


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path, settings, django_assert_num_queries):
    import resource
    import time
    import zipfile

    settings.MYSCHOOL_CSV = {**settings.MYSCHOOL_CSV, "MAX_FILE_MB": 5, "MAX_BUNDLE_MB": 8}
    archive = tmp_path / "bomb.zip"
    header = (BUNDLES / "valid-two-schools" / "users.csv").read_text().splitlines()[0]
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        for csv_file in (BUNDLES / "valid-two-schools").iterdir():
            if csv_file.name != "users.csv":
                zipped.write(csv_file, csv_file.name)
        with zipped.open("users.csv", "w") as users:
            users.write(header.encode() + b"\n")
            for _ in range(64):
                users.write(b" " * (1024 * 1024))  # 64 MB of blanks, a few KB compressed
    assert archive.stat().st_size < 200_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(archive)
    assert time.perf_counter() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 20 * 1024  # KB: nothing was expanded
    assert [str(p) for p in excinfo.value.problems] == [
        "users.csv: 64.0 MB uncompressed; a file may hold at most 5 MB",
        "bomb.zip: its files hold 64.0 MB uncompressed; a bundle may hold at most 8 MB",
    ]


def test_the_bundle_limit_counts_every_file_read(tmp_path, settings):
    settings.MYSCHOOL_CSV = {**settings.MYSCHOOL_CSV, "MAX_FILE_MB": 1, "MAX_BUNDLE_MB": 1}
    bundle = _copy(tmp_path)
    for name in ("users.csv", "enrollments.csv"):
        with (bundle / name).open("a") as extra:
            extra.write("\n" * 600_000)  # blank lines: each file stays under 1 MB, together they do not
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(bundle)
    assert [str(p) for p in excinfo.value.problems] == [
        "bundle: its files hold 1.1 MB uncompressed; a bundle may hold at most 1 MB"
    ]


def test_reading_and_reference_problems_come_in_one_run(tmp_path):
    """A bad value in users.csv and a dangling class in enrollments.csv are independent: both are
    reported at once. The enrollments of the rejected user are consequences, not reported."""
    bundle = _copy(tmp_path)
    _replace_in(bundle / "users.csv", "usr-s1,,,true,", "usr-s1,,,maybe,")
    _replace_in(bundle / "enrollments.csv", "enr-4,,,cls-sci-n,", "enr-4,,,cls-gone,")
    with pytest.raises(BundleError) as excinfo:
        import_oneroster_csv(bundle)
    assert [str(p) for p in excinfo.value.problems] == [
        "enrollments.csv:5: classSourcedId 'cls-gone' is not in classes.csv",
        "users.csv:2: enabledUser 'maybe' is not true or false",
    ]
    assert set(row_counts().values()) == {0}


def planned_rows(model) -> int:
    """The planner's row count of ``model``'s table (PostgreSQL's ``reltuples``, SQLite's ``sqlite_stat1``)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            return int(cursor.fetchone()[0])
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])  # "rows …"
        row = cursor.fetchone()
        return int(row[0].split()[0]) if row else 0


def test_an_import_refreshes_the_planner_statistics_of_the_school_tables():
    with connection.cursor() as cursor:  # statistics of the empty table, whatever earlier tests left
        cursor.execute("ANALYZE %s" % connection.ops.quote_name(m.Student._meta.db_table))
    assert planned_rows(m.Student) == 0
    import_oneroster_csv(CONTOSO)
    assert planned_rows(m.Student) == m.Student.objects.count() == 22
