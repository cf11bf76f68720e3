"""``manage.py update_primary_emails FILE --school CODE [--dry-run]``: preview, atomic apply, line-numbered refusals."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from myschool import models as m
from tests import factories as f
from tests.myschool.emails_helpers import tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def pupils(school_a):
    tenant(school_a)
    return [f.StudentFactory(school=school_a, student_number=str(1001 + n)) for n in range(3)]


def run(path, *args) -> str:
    out = StringIO()
    call_command("update_primary_emails", str(path), "--school", "A100", *args, stdout=out)
    return out.getvalue()


def emails() -> list[str]:
    return list(m.Student.objects.order_by("student_number").values_list("primary_email", flat=True))


def test_a_dry_run_prints_the_preview_and_writes_nothing(tmp_path, pupils):
    before = emails()
    path = tmp_path / "emails.csv"
    path.write_text("number,email\n1001,first@school.example\n1002,second@school.example\n", encoding="utf-8")
    out = run(path, "--dry-run")
    assert "2 change(s), 0 rejected line(s), 0 unchanged." in out
    assert f"line 2: {pupils[0]} (student 1001): {pupils[0].primary_email} → first@school.example" in out
    assert "Dry run: nothing was changed." in out
    assert emails() == before and not m.EmailChangeBatch.objects.exists()


def test_applying_writes_every_change_as_one_batch(tmp_path, pupils, support):
    path = tmp_path / "emails.csv"
    path.write_text("number,email\n1001,first@school.example\n1002,second@school.example\n", encoding="utf-8")
    out = run(path, "--user", support.username)
    batch = m.EmailChangeBatch.objects.get()
    assert f"Changed 2 primary email(s) as batch #{batch.pk}." in out
    assert emails()[:2] == ["first@school.example", "second@school.example"]
    assert (batch.kind, batch.note, batch.created_by, batch.changes.count()) == (
        m.EmailChangeKind.CSV,
        "emails.csv",
        support,
        2,
    )


def test_a_file_with_rejected_lines_exits_non_zero_names_them_and_changes_nothing(tmp_path, pupils):
    before = emails()
    path = tmp_path / "emails.csv"
    path.write_text("number,email\n1001,first@school.example\n4040,who@school.example\n1003,me@gmail.example\n")
    out = StringIO()
    with pytest.raises(CommandError, match="2 line\\(s\\) rejected; nothing was changed"):
        call_command("update_primary_emails", str(path), "--school", "A100", stdout=out)
    assert "line 3: rejected: no student or teacher with number 4040" in out.getvalue()
    assert "line 4: rejected:" in out.getvalue() and "not a Microsoft domain" in out.getvalue()
    assert emails() == before and not m.EmailChangeBatch.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"number;mail\n1001;x@school.example\n", "Line 1: the header needs an email column"),
        (b"number,email\n1001,caf\xe9@school.example\n", "Line 2 is not UTF-8"),
    ],
)
def test_an_unreadable_file_exits_non_zero_with_its_line(tmp_path, pupils, content, message):
    path = tmp_path / "emails.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run(path)


def test_unknown_school_user_or_file(tmp_path, pupils):
    path = tmp_path / "emails.csv"
    path.write_text("number,email\n")
    with pytest.raises(CommandError, match="No school has the code 'ZZZ'"):
        call_command("update_primary_emails", str(path), "--school", "ZZZ")
    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        run(path, "--user", "nobody")
    with pytest.raises(CommandError, match="missing.csv"):
        run(tmp_path / "missing.csv")
    assert "Nothing to change." in run(path)


def test_a_named_user_is_held_to_the_bulk_limit(tmp_path, pupils, admin_a, settings):
    settings.MYSCHOOL_EMAILS = {**settings.MYSCHOOL_EMAILS, "BULK_LIMIT": 1}
    path = tmp_path / "emails.csv"
    path.write_text("number,email\n1001,first@school.example\n1002,second@school.example\n")
    with pytest.raises(CommandError, match="exceed the limit of 1"):
        run(path, "--user", admin_a.username)
    assert "Changed 2 primary email(s)" in run(path)  # the server itself is not limited
