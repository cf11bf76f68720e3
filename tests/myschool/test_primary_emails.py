"""Primary emails: the checks, the mass-edit page, CSV bulk update, patterns, history and revert.

Read as the personas of tests/conftest.py: support, the administrator of school A (Alder High)
and the administrator of school B (Birch Academy).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from myschool import models as m
from myschool.emails import (
    BulkFileError,
    EmailChangeRefused,
    EmailRules,
    bulk_apply,
    bulk_preview,
    email_batch_revert,
    email_domains,
    fold_to_ascii,
    pattern_apply,
    pattern_preview,
    pattern_validate,
    primary_emails_change,
)
from tests import factories as f
from tests.myschool.emails_helpers import DOMAIN, key, login, mass_edit_post, mass_edit_url, tenant

pytestmark = pytest.mark.django_db


def email_of(person) -> str:
    person.refresh_from_db()
    return person.primary_email


def change(school, person, email, user=None, kind=m.EmailChangeKind.MASS_EDIT):
    return primary_emails_change(school=school, changes={key(person): email}, user=user, kind=kind)


# --- the checks ----------------------------------------------------------------------------------


def test_rules_refuse_bad_syntax_foreign_domains_and_emails_in_use(school_a):
    tenant(school_a)
    ada, bob, cy = (f.StudentFactory(school=school_a) for _ in range(3))
    errors = EmailRules(school_a).check(
        {key(ada): "not-an-email", key(bob): "bob@gmail.example", key(cy): ada.primary_email},
        labels={key(cy): "Cy"},
    )
    assert "not a valid email" in errors[key(ada)]
    assert "gmail.example is not a Microsoft domain" in errors[key(bob)] and DOMAIN in errors[key(bob)]
    assert f"already the email of {ada.given_name} {ada.family_name} (student {ada.student_number})" in errors[key(cy)]


def test_two_rows_wanting_one_email_are_both_refused_but_a_swap_is_fine(school_a):
    ada, bob, cy = (f.StudentFactory(school=school_a) for _ in range(3))
    rules = EmailRules(school_a)
    clash = rules.check({key(ada): "same@school.example", key(bob): "same@school.example"})
    assert set(clash) == {key(ada), key(bob)} and "also given for" in clash[key(ada)]
    assert rules.check({key(ada): bob.primary_email, key(bob): ada.primary_email}) == {}
    # Cy's email is refused, so Cy keeps it, so Ada cannot take it either.
    cascade = rules.check({key(cy): "bad email", key(ada): cy.primary_email})
    assert set(cascade) == {key(cy), key(ada)}


def test_emails_are_unique_across_the_tenants_schools_without_naming_the_other_person(school_a, school_b):
    tenant(school_a, school_b)
    ada = f.StudentFactory(school=school_a)
    stranger = f.TeacherFactory(school=school_b, primary_email="Taken@School.Example")
    errors = EmailRules(school_a).check({key(ada): "taken@school.example"})
    assert errors[key(ada)] == "taken@school.example is already used at another school of the same Microsoft tenant."
    assert stranger.family_name not in errors[key(ada)]


def test_without_domains_or_tenant_only_syntax_and_the_school_count(school_a, school_b):
    ada = f.StudentFactory(school=school_a)
    f.StudentFactory(school=school_b, primary_email="elsewhere@any.example")
    assert EmailRules(school_a).check({key(ada): "elsewhere@any.example"}) == {}  # B is another tenant


def test_people_who_left_clash_with_nobody(school_a):
    ada = f.StudentFactory(school=school_a)
    f.StudentFactory(school=school_a, primary_email="old@school.example", status=m.Status.LEFT)
    assert EmailRules(school_a).check({key(ada): "old@school.example"}) == {}


def test_email_domains_lists_the_domains_in_use_most_common_first(school_a):
    f.StudentFactory.create_batch(3, school=school_a)
    f.TeacherFactory(school=school_a, primary_email="t@other.example")
    f.StudentFactory(school=school_a, primary_email="")
    assert email_domains(school_a) == [(DOMAIN, 3), ("other.example", 1)]


# --- the service and the history -----------------------------------------------------------------


def test_a_change_is_normalized_recorded_and_refused_as_a_whole(school_a, admin_a):
    ada, bob = f.StudentFactory(school=school_a), f.StudentFactory(school=school_a)
    old = ada.primary_email
    batch = change(school_a, ada, "  Ada.New@School.Example ", user=admin_a)
    assert email_of(ada) == "ada.new@school.example"
    record = batch.changes.get()
    assert (record.student, record.old_email, record.new_email, batch.created_by) == (
        ada,
        old,
        "ada.new@school.example",
        admin_a,
    )
    with pytest.raises(EmailChangeRefused) as refused:
        primary_emails_change(
            school=school_a,
            changes={key(ada): "x@school.example", key(bob): "not valid"},
            user=admin_a,
            kind=m.EmailChangeKind.MASS_EDIT,
        )
    assert set(refused.value.errors) == {key(bob)} and email_of(ada) == "ada.new@school.example"  # Ada's valid row too
    assert change(school_a, ada, "ada.new@school.example") is None  # nothing changes, nothing recorded


def test_a_person_of_another_school_is_refused(school_a, school_b):
    stranger = f.StudentFactory(school=school_b)
    with pytest.raises(EmailChangeRefused):
        change(school_a, stranger, "x@school.example")
    assert email_of(stranger) != "x@school.example"


def test_revert_restores_a_batch_as_one_and_is_itself_a_batch(school_a, admin_a):
    ada, bob = f.StudentFactory(school=school_a), f.TeacherFactory(school=school_a)
    old = {ada: ada.primary_email, bob: bob.primary_email}
    batch = primary_emails_change(
        school=school_a,
        changes={key(ada): "a2@school.example", key(bob): "b2@school.example"},
        user=admin_a,
        kind=m.EmailChangeKind.CSV,
    )
    revert = email_batch_revert(batch=batch, user=admin_a)
    assert email_of(ada) == old[ada] and email_of(bob) == old[bob]
    batch.refresh_from_db()
    assert batch.reverted_by == revert and revert.kind == m.EmailChangeKind.REVERT and revert.changes.count() == 2
    with pytest.raises(EmailChangeRefused, match="already reverted"):
        email_batch_revert(batch=batch, user=admin_a)
    email_batch_revert(batch=revert, user=admin_a)  # a revert can be reverted: redo
    assert email_of(ada) == "a2@school.example"


def test_revert_reports_conflicts_per_person_and_changes_nothing(school_a):
    ada, bob, cy = (f.StudentFactory(school=school_a) for _ in range(3))
    old_bob = bob.primary_email
    batch = primary_emails_change(
        school=school_a,
        changes={key(ada): "a2@school.example", key(bob): "b2@school.example"},
        user=None,
        kind=m.EmailChangeKind.CSV,
    )
    change(school_a, ada, "a3@school.example")  # changed since
    change(school_a, cy, old_bob)  # Bob's old email was taken meanwhile
    with pytest.raises(EmailChangeRefused) as refused:
        email_batch_revert(batch=batch, user=None)
    errors = refused.value.errors
    assert "now a3@school.example, not a2@school.example" in errors[key(ada)]
    assert "already the email of" in errors[key(bob)]
    assert (email_of(ada), email_of(bob)) == ("a3@school.example", "b2@school.example")


# --- patterns ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("José", "jose"),
        ("Zoë Ångström", "zoeangstrom"),
        ("Straße", "strasse"),
        ("Øst-Łódź", "ost-lodz"),
        ("O'Brien", "obrien"),
        ("Æsir", "aesir"),
        ("Dvořák", "dvorak"),
    ],
)
def test_fold_to_ascii(text, folded):
    assert fold_to_ascii(text) == folded


@pytest.mark.parametrize(
    "pattern", ["{given}.{family}", "{given}@{family}.example", "{nickname}@x.example", "plain@x.example"]
)
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(Exception, match="pattern|placeholder|Placeholders"):
        pattern_validate(pattern)


def test_a_pattern_folds_accents_numbers_clashes_and_skips_people_with_an_email(school_a, school_b):
    tenant(school_a, school_b)
    f.StudentFactory(
        school=school_b, primary_email="jose.muller@school.example", status=m.Status.LEFT
    )  # taken, even left
    first = f.StudentFactory(school=school_a, given_name="José", family_name="Müller", primary_email="")
    second = f.StudentFactory(school=school_a, given_name="Jose", family_name="Muller", primary_email="")
    teacher = f.TeacherFactory(
        school=school_a, given_name="Ada", middle_name="", family_name="de Vries", primary_email=""
    )
    has_one = f.StudentFactory(school=school_a, given_name="Jose", family_name="Muller")
    f.StudentFactory(school=school_a, given_name="Left", family_name="Behind", primary_email="", status=m.Status.LEFT)
    preview = pattern_preview(school=school_a, pattern="{given}.{middle}.{family}@school.example")
    generated = {person.key: email for person, email in preview.generated}
    assert generated == {
        key(teacher): "ada.devries@school.example",
        key(first): "jose.muller2@school.example",
        key(second): "jose.muller3@school.example",
    }
    assert key(has_one) not in generated and email_of(first) == ""  # a preview writes nothing
    _, batch = pattern_apply(school=school_a, pattern="{given}.{middle}.{family}@school.example", user=None)
    assert batch.kind == m.EmailChangeKind.PATTERN and email_of(second) == "jose.muller3@school.example"


def test_a_pattern_outside_the_domains_leaves_people_without_email(school_a):
    tenant(school_a)
    ada = f.StudentFactory(school=school_a, primary_email="")
    preview = pattern_preview(school=school_a, pattern="{initial}{family}@gmail.example")
    assert not preview.generated and "not a Microsoft domain" in preview.rejected[0][1]
    assert preview.rejected[0][0].key == key(ada)


# --- CSV -----------------------------------------------------------------------------------------


@pytest.fixture
def roster(school_a):
    tenant(school_a)
    return {
        "ada": f.StudentFactory(school=school_a, student_number="1001", username="ada"),
        "bob": f.StudentFactory(school=school_a, student_number="1002", username="bob"),
        "cy": f.StudentFactory(school=school_a, student_number="1003", username="cy"),
        "dan": f.StudentFactory(school=school_a, student_number="1004", username="dan"),
        "twin_student": f.StudentFactory(school=school_a, student_number="77", username="twin"),
        "twin_teacher": f.TeacherFactory(school=school_a, staff_number="77", username="twin"),
    }


def test_the_preview_lists_changes_and_every_rejected_line_with_its_reason(roster, school_a):
    text = (
        "Number,Email,Name\n"
        "1001,ada.new@school.example,Ada\n"  # 2: change
        "9999,who@school.example,\n"  # 3: unknown
        "77,twin@school.example,\n"  # 4: ambiguous
        "1002,not an email,\n"  # 5: syntax
        "1003,cy@gmail.example,\n"  # 6: domain
        f"1004,{roster['cy'].primary_email},\n"  # 7: taken by Cy, who keeps it (line 6 refused)
        "1001,again@school.example,\n"  # 8: Ada twice
        ",,\n"  # blank: skipped
        f"1003,{roster['cy'].primary_email},\n"  # 10: unchanged... but 6 already named Cy
    )
    preview = bulk_preview(school=school_a, text=text)
    assert [(c.line, c.person.key, c.email) for c in preview.changes] == [
        (2, key(roster["ada"]), "ada.new@school.example")
    ]
    reasons = {r.line: r.reason for r in preview.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 10}
    assert "no student or teacher with number 9999" in reasons[3]
    assert "matches 2 people; add a role column" in reasons[4]
    assert "not a valid email" in reasons[5]
    assert "not a Microsoft domain" in reasons[6]
    assert "already the email of" in reasons[7]
    assert "already on line 2" in reasons[8] and "already on line 6" in reasons[10]  # one line per person
    assert not preview.can_apply
    assert bulk_apply(school=school_a, text=text, user=None)[1] is None
    assert email_of(roster["ada"]) != "ada.new@school.example"  # all or nothing


def test_a_role_column_usernames_semicolons_and_a_bom_are_understood(roster, school_a):
    text = "\ufeffrole;username;email\nteacher;twin;t.twin@school.example\nstudent;bob;Bob.New@School.Example\n"
    preview, batch = bulk_apply(school=school_a, text=text, user=None, note="staff.csv")
    assert preview.rejected == [] and batch.kind == m.EmailChangeKind.CSV and batch.note == "staff.csv"
    assert email_of(roster["twin_teacher"]) == "t.twin@school.example"
    assert email_of(roster["bob"]) == "bob.new@school.example"
    assert email_of(roster["twin_student"]) != "t.twin@school.example"


def test_a_swap_within_a_file_and_unchanged_lines(roster, school_a):
    ada, bob = roster["ada"], roster["bob"]
    text = f"number,email\n1001,{bob.primary_email}\n1002,{ada.primary_email}\n1003,{roster['cy'].primary_email}\n"
    preview, batch = bulk_apply(school=school_a, text=text, user=None)
    assert (len(preview.changes), preview.unchanged, batch.changes.count()) == (2, 1, 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Line 1: the file is empty"),
        (b"name,mail\nAda,a@school.example\n", "Line 1: the header needs an email column"),
        (b"number,email\n1001,a@school.example\n1002,caf\xe9@school.example\n", "Line 3 is not UTF-8"),
    ],
)
def test_an_unreadable_file_names_its_line(data, message, school_a):
    from myschool.emails import decode_upload

    with pytest.raises(BulkFileError, match=message):
        bulk_preview(school=school_a, text=decode_upload(data))


def test_changes_above_the_limit_are_reserved_to_support(roster, school_a, admin_a, support, settings):
    settings.MYSCHOOL_EMAILS = {**settings.MYSCHOOL_EMAILS, "BULK_LIMIT": 1}
    text = "number,email\n1001,a1@school.example\n1002,b1@school.example\n"
    preview, batch = bulk_apply(school=school_a, text=text, user=admin_a)
    assert batch is None and "exceed the limit of 1" in preview.limit_error
    assert admin_a.has_perm("myschool.change_primaryemail")
    assert not admin_a.has_perm("myschool.bulk_update_primary_emails_unlimited")
    _, batch = bulk_apply(school=school_a, text=text, user=support)
    assert batch.changes.count() == 2


# --- the mass-edit page --------------------------------------------------------------------------


@pytest.fixture
def people(school_a, school_b):
    """School A: two students and a teacher; school B: one student."""
    tenant(school_a)
    return {
        "ada": f.StudentFactory(school=school_a, given_name="Ada", family_name="Aardvark"),
        "bob": f.StudentFactory(school=school_a, given_name="Bob", family_name="Badger"),
        "tess": f.TeacherFactory(school=school_a, given_name="Tess", family_name="Teacher"),
        "bea": f.StudentFactory(school=school_b, given_name="Bea", family_name="Birch"),
    }


def names(response) -> set[str]:
    return {person.given_name for _, person, _ in response.context["rows"] if person}


def test_a_school_admin_edits_their_own_students_and_teachers(people, admin_a, admin_b):
    response = login(admin_a).get(mass_edit_url())
    assert response.status_code == 200 and names(response) == {"Ada", "Bob", "Tess"}
    assert names(login(admin_b).get(mass_edit_url(school=people["ada"].school))) == {"Bea"}  # ?school= is ignored


def test_support_chooses_a_school(people, support, school_a):
    client = login(support)
    page = client.get(mass_edit_url())
    assert page.status_code == 200 and "Choose a school" in page.content.decode() and page.context["school"] is None
    assert names(client.get(mass_edit_url(school=school_a))) == {"Ada", "Bob", "Tess"}
    saved = mass_edit_post(client, mass_edit_url(school=school_a), {people["bob"]: "bob.support@school.example"})
    assert saved.status_code == 302 and email_of(people["bob"]) == "bob.support@school.example"
    mass_edit_post(client, mass_edit_url(), {people["bob"]: "x@school.example"})  # no school chosen: nothing saved
    assert email_of(people["bob"]) == "bob.support@school.example"


def test_a_tampered_management_form_is_refused(people, admin_a):
    client = login(admin_a)
    response = client.post(mass_edit_url(), {"form-TOTAL_FORMS": "x", "form-INITIAL_FORMS": "0"})
    assert response.status_code == 403


def test_saving_keeps_every_valid_row_and_reports_the_others(people, admin_a):
    ada, bob, tess = people["ada"], people["bob"], people["tess"]
    old_bob = bob.primary_email
    response = mass_edit_post(
        login(admin_a),
        mass_edit_url(),
        {ada: "ada.new@school.example", bob: "bob@gmail.example", tess: "ADA.NEW@school.example"},
    )
    assert response.status_code == 200
    errors = {person.given_name: form.errors for form, person, _ in response.context["rows"]}
    assert "also given for" in str(errors["Ada"]) and "also given for" in str(errors["Tess"])  # one email, two people
    assert "not a Microsoft domain" in str(errors["Bob"])
    assert email_of(bob) == old_bob
    fixed = mass_edit_post(
        login(admin_a), mass_edit_url(), {ada: "ada.new@school.example", tess: "tess.new@school.example"}
    )
    assert fixed.status_code == 302
    assert (email_of(ada), email_of(tess)) == ("ada.new@school.example", "tess.new@school.example")
    batch = m.EmailChangeBatch.objects.get()
    assert (batch.kind, batch.created_by, batch.changes.count()) == (m.EmailChangeKind.MASS_EDIT, admin_a, 2)


def test_valid_rows_are_saved_when_others_are_not(people, admin_a):
    ada, bob = people["ada"], people["bob"]
    type(ada).objects.filter(pk=ada.pk).update(primary_email="")  # "No email" before the save
    response = mass_edit_post(login(admin_a), mass_edit_url(), {ada: "ada.ok@school.example", bob: "nope"})
    assert (
        response.status_code == 200
        and "1 primary email(s) saved; 1 row(s) need correcting" in response.content.decode()
    )
    assert email_of(ada) == "ada.ok@school.example"
    # The saved row shows its new email and no "No email" flag; the refused row keeps its error.
    shown = {person.key: (person.email, flags) for _form, person, flags in response.context["rows"]}
    assert shown[key(ada)][0] == "ada.ok@school.example" and "No email" not in shown[key(ada)][1]


def test_a_crafted_post_for_another_schools_person_fails(people, admin_a):
    bea = people["bea"]
    response = mass_edit_post(login(admin_a), mass_edit_url(), {bea: "stolen@school.example"})
    assert response.status_code == 200 and "Unknown person" in response.content.decode()
    assert email_of(bea) != "stolen@school.example"


def test_viewing_without_the_change_permission_cannot_save(people, school_a):
    viewer = f.UserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_primaryemail"))
    m.SchoolStaff.objects.create(user=viewer, school=school_a)
    client = login(viewer)
    page = client.get(mass_edit_url())
    assert page.status_code == 200 and 'type="email"' not in page.content.decode()
    assert mass_edit_post(client, mass_edit_url(), {people["ada"]: "x@school.example"}).status_code == 403


def test_filters_find_each_problem(school_a, school_b, admin_a):
    tenant(school_a, school_b)
    f.StudentFactory(school=school_a, given_name="Fine")
    f.StudentFactory(school=school_a, given_name="Missing", primary_email="")
    f.StudentFactory(school=school_a, given_name="Foreign", primary_email="f@gmail.example")
    f.StudentFactory(school=school_a, given_name="Twin1", primary_email="twin@school.example")
    f.TeacherFactory(school=school_a, given_name="Twin2", primary_email="TWIN@school.example")
    f.StudentFactory(school=school_a, given_name="Across", primary_email="across@school.example")
    f.StudentFactory(school=school_b, given_name="Other", primary_email="across@school.example")
    f.StudentFactory(school=school_a, given_name="NoLogin", username="")
    f.StudentFactory(school=school_a, given_name="Gone", primary_email="", status=m.Status.LEFT)
    client = login(admin_a)
    assert names(client.get(mass_edit_url(problem="missing"))) == {"Missing"}
    assert names(client.get(mass_edit_url(problem="foreign_domain"))) == {"Foreign"}
    assert names(client.get(mass_edit_url(problem="duplicate_in_school"))) == {"Twin1", "Twin2"}
    assert names(client.get(mass_edit_url(problem="duplicate"))) == {"Twin1", "Twin2", "Across"}
    assert names(client.get(mass_edit_url(problem="username"))) == {"NoLogin"}
    assert names(client.get(mass_edit_url(problem="missing", status="left"))) == {"Gone"}
    assert names(client.get(mass_edit_url(role="teacher"))) == {"Twin2"}
    assert names(client.get(mass_edit_url(q="twin@"))) == {"Twin1", "Twin2"}
    flags = {person.given_name: labels for _, person, labels in client.get(mass_edit_url()).context["rows"]}
    assert flags["Across"] == ["Duplicate in the tenant's schools"] and flags["Fine"] == []


def test_pages_of_people(school_a, admin_a):
    f.StudentFactory.create_batch(60, school=school_a)
    client = login(admin_a)
    first, second = client.get(mass_edit_url()), client.get(mass_edit_url(page=2))
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 10

    def keys(response):
        return {person.key for _, person, _ in response.context["rows"]}

    assert not keys(first) & keys(second)


def test_the_query_count_does_not_grow_with_the_rows(school_a, admin_a):
    tenant(school_a)
    client = login(admin_a)

    def get_queries(total):
        while m.Student.objects.filter(school=school_a).count() < total:
            f.StudentFactory(school=school_a)
            f.TeacherFactory(school=school_a)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(mass_edit_url()).status_code == 200
        return len(ctx.captured_queries)

    def post_queries(count):
        rows = {s: f"{s.username}.{count}@school.example" for s in m.Student.objects.filter(school=school_a)[:count]}
        with CaptureQueriesContext(connection) as ctx:
            assert mass_edit_post(client, mass_edit_url(), rows).status_code == 302
        return len(ctx.captured_queries)

    assert get_queries(5) == get_queries(50)
    assert post_queries(5) == post_queries(40)


# --- the CSV and pattern pages, history and revert in the admin ---------------------------------


def test_upload_preview_then_apply(roster, admin_a, school_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(admin_a)
    url = reverse("admin:myschool_primaryemail_upload")
    upload = SimpleUploadedFile("emails.csv", b"number,email\n1001,ada.csv@school.example\n", content_type="text/csv")
    preview = client.post(url, {"file": upload})
    assert preview.status_code == 200 and "ada.csv@school.example" in preview.content.decode()
    assert email_of(roster["ada"]) != "ada.csv@school.example"  # previewed only
    applied = client.post(url, {"_apply": "1", "payload": preview.context["payload"]})
    batch = m.EmailChangeBatch.objects.get()
    assert applied.status_code == 302 and applied.url == reverse(
        "admin:myschool_emailchangebatch_change", args=[batch.pk]
    )
    assert email_of(roster["ada"]) == "ada.csv@school.example" and batch.note == "emails.csv"


def test_an_altered_or_foreign_payload_is_refused(roster, admin_a, admin_b):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("admin:myschool_primaryemail_upload")
    upload = SimpleUploadedFile("emails.csv", b"number,email\n1001,ada.csv@school.example\n")
    payload = login(admin_a).post(url, {"file": upload}).context["payload"]
    assert login(admin_b).post(url, {"_apply": "1", "payload": payload}).status_code == 403
    login(admin_a).post(url, {"_apply": "1", "payload": payload[:-2] + "xx"})
    assert not m.EmailChangeBatch.objects.exists()


def test_generate_page_previews_then_applies(school_a, admin_a):
    tenant(school_a)
    ada = f.StudentFactory(school=school_a, given_name="Ada", family_name="Lovelace", primary_email="")
    client = login(admin_a)
    url = reverse("admin:myschool_primaryemail_generate")
    form = client.get(url)
    assert form.context["form"].initial["pattern"] == "{given}.{family}@school.example"
    preview = client.post(url, {"pattern": "{given}.{family}@school.example", "_preview": "1"})
    assert "ada.lovelace@school.example" in preview.content.decode() and email_of(ada) == ""
    applied = client.post(url, {"pattern": "{given}.{family}@school.example", "_apply": "1"})
    assert applied.status_code == 302 and email_of(ada) == "ada.lovelace@school.example"


def test_the_revert_action_in_the_history(school_a, admin_a):
    ada = f.StudentFactory(school=school_a)
    old = ada.primary_email
    batch = change(school_a, ada, "ada2@school.example", kind=m.EmailChangeKind.CSV)
    client = login(admin_a)
    url = reverse("admin:myschool_emailchangebatch_changelist")
    assert (
        "ada2@school.example"
        in client.get(reverse("admin:myschool_emailchangebatch_change", args=[batch.pk])).content.decode()
    )
    response = client.post(url, {"action": "revert", "_selected_action": [batch.pk]}, follow=True)
    assert f"Batch #{batch.pk} reverted" in response.content.decode() and email_of(ada) == old
    again = client.post(url, {"action": "revert", "_selected_action": [batch.pk]}, follow=True)
    assert "already reverted" in again.content.decode()


def test_the_history_of_one_school_is_hidden_from_another(school_a, admin_b):
    batch = change(school_a, f.StudentFactory(school=school_a), "x2@school.example")
    client = login(admin_b)
    assert client.get(reverse("admin:myschool_emailchangebatch_change", args=[batch.pk])).status_code == 302
    client.post(
        reverse("admin:myschool_emailchangebatch_changelist"), {"action": "revert", "_selected_action": [batch.pk]}
    )
    batch.refresh_from_db()
    assert batch.reverted_by is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"number,email\n1001,a@school.example\n1002," + b"x" * 131_073 + b"\n", "Line 3: a value is longer than 10,000 characters."),
        (b"number,email\n1001," + b"y" * 10_001 + b"\n", "Line 2: a value is longer than 10,000 characters."),
        (b"number,email\n1001,a@school.example\n10\x0002,b@school.example\n", "Line 3: a value contains a control character (U+0000)."),
    ],
)
def test_an_upload_with_a_huge_value_or_a_control_character_is_a_form_error(roster, admin_a, data, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = login(admin_a).post(
        reverse("admin:myschool_primaryemail_upload"), {"file": SimpleUploadedFile("emails.csv", data)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [message]


def test_the_upload_size_limit_is_a_setting(roster, admin_a, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MYSCHOOL_CSV = {**settings.MYSCHOOL_CSV, "MAX_UPLOAD_MB": 1}
    data = b"number,email\n" + b"1001,a@school.example\n" * 60_000  # 1.3 MB
    response = login(admin_a).post(
        reverse("admin:myschool_primaryemail_upload"), {"file": SimpleUploadedFile("emails.csv", data)}
    )
    assert response.context["form"].errors["file"] == ["The file is larger than 1 MB."]


def test_generate_proposes_the_domain_the_schools_people_use(school_a, admin_a):
    tenant(school_a, domains=("contoso.example", "myschool-demo.example"))
    for n in range(3):
        f.StudentFactory(school=school_a, primary_email=f"pupil{n}@MySchool-Demo.example")
    f.TeacherFactory(school=school_a, primary_email="t@elsewhere.example")
    f.TeacherFactory(school=school_a, primary_email="")
    url = reverse("admin:myschool_primaryemail_generate")
    assert login(admin_a).get(url).context["form"].initial["pattern"] == "{given}.{family}@myschool-demo.example"


def test_generate_proposes_the_most_used_domain_when_none_is_registered(school_a, admin_a):
    for n in range(2):
        f.StudentFactory(school=school_a, primary_email=f"pupil{n}@used.example")
    f.StudentFactory(school=school_a, primary_email="x@rare.example")
    url = reverse("admin:myschool_primaryemail_generate")
    assert login(admin_a).get(url).context["form"].initial["pattern"] == "{given}.{family}@used.example"


def test_duplicates_count_people_of_both_roles_once_each_ignoring_case_and_leavers():
    from myschool.emails import duplicate_emails
    from myschool.emails.usernames import duplicate_usernames

    school, other = f.SchoolFactory(), f.SchoolFactory()
    f.StudentFactory(school=school, primary_email="Twin@school.example", username="Twin")
    f.StudentFactory(school=school, primary_email="twin@SCHOOL.example", username="twin@school.example")
    f.StudentFactory(school=school, primary_email="shared@school.example", username="shared")
    f.TeacherFactory(school=school, primary_email="Shared@school.example", username="SHARED@teachers")
    main = f.StudentFactory(school=school, primary_email="linked@school.example", username="linked")
    f.StudentFactory(school=other, primary_email="linked@school.example", username="linked", same_person_as=main)
    f.StudentFactory(school=school, primary_email="left@school.example", username="left")
    f.StudentFactory(school=school, primary_email="left@school.example", username="left", status=m.Status.LEFT)
    f.TeacherFactory(school=school, primary_email="", username="")
    f.TeacherFactory(school=school, primary_email="", username="")
    both = [school.pk, other.pk]
    assert duplicate_emails(both) == {"twin@school.example", "shared@school.example"}
    assert duplicate_usernames(both) == {"twin", "shared"}
    assert duplicate_emails([school.pk]) == {"twin@school.example", "shared@school.example"}
