"""The school domain admin, read as the three personas: support, an admin of school A, an admin of school B."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from myschool import models as m
from myschool.emails import PersonKey, primary_emails_change
from tests import factories as f

pytestmark = pytest.mark.django_db

SCOPED_MODELS = [model for model in admin.site._registry if model._meta.app_label == "myschool"]


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_schools(school_a, school_b):
    """A course with a teacher, a student and a homeroom class in each school."""
    rows = {}
    for school in (school_a, school_b):
        school.group = m.SchoolGroup.objects.create(name=f"Trust of {school.code}", code=f"G{school.code}")
        school.save()
        course = f.CourseFactory(school=school, year=school.active_year, name=f"Algebra at {school.code}")
        f.CourseStudentFactory(course=course, student__family_name=f"Pupil{school.code}")
        f.CourseTeacherFactory(course=course, is_main_teacher=True)
        school_class = f.SchoolClassFactory(school=school, year=school.active_year, name=f"Form at {school.code}")
        f.ClassStudentFactory(school_class=school_class)
        f.ClassTeacherFactory(school_class=school_class)
        f.TermFactory(year=school.active_year)
        # One recorded email change per school, so the history pages have rows to scope.
        student = m.Student.objects.filter(school=school).first()
        primary_emails_change(
            school=school, changes={PersonKey("student", student.pk): f"renamed@{school.code.lower()}.example"},
            user=None, kind=m.EmailChangeKind.MASS_EDIT,
        )
        rows[school.code] = course
    return rows


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model.__name__)
def test_every_changelist_opens_for_support_and_school_admins(model, two_schools, support, admin_a):
    url = reverse(f"admin:myschool_{model._meta.model_name}_changelist")
    assert login(support).get(url).status_code == 200
    expected = 403 if model is m.SchoolStaff else 200  # only support manages who administers a school
    assert login(admin_a).get(url).status_code == expected


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model.__name__)
def test_school_admin_sees_only_their_schools_rows(model, two_schools, support, admin_a, admin_b, rf):
    model_admin = admin.site._registry[model]

    def visible(user):
        request = rf.get("/")
        request.user = user
        return set(model_admin.get_queryset(request).values_list("pk", flat=True))

    everything = set(model.objects.values_list("pk", flat=True))
    assert visible(support) == everything
    seen_a, seen_b = visible(admin_a), visible(admin_b)
    assert seen_a and seen_b
    assert not seen_a & seen_b
    assert seen_a | seen_b == everything


def test_school_admin_cannot_open_another_schools_row(two_schools, admin_a):
    other = two_schools["B200"]
    response = login(admin_a).get(reverse("admin:myschool_course_change", args=[other.pk]))
    assert response.status_code == 302  # the admin's "does not exist" redirect, not the form
    assert login(admin_a).get(reverse("admin:myschool_course_change", args=[two_schools["A100"].pk])).status_code == 200


def test_changelist_lists_own_rows_and_hides_the_school_filter(two_schools, admin_a, support):
    page = login(admin_a).get(reverse("admin:myschool_course_changelist")).content.decode()
    assert "Algebra at A100" in page
    assert "Algebra at B200" not in page
    assert "Birch Academy" not in page  # no filter or column naming the other school
    support_page = login(support).get(reverse("admin:myschool_course_changelist")).content.decode()
    assert "Algebra at A100" in support_page and "Algebra at B200" in support_page
    assert "By school" in support_page


def test_crafted_post_creating_a_student_in_another_school_fails(school_a, school_b, admin_a):
    response = login(admin_a).post(
        reverse("admin:myschool_student_add"),
        {
            "school": school_b.pk,
            "student_number": "666",
            "given_name": "Mallory",
            "family_name": "Crafted",
            "status": "active",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not m.Student.objects.filter(student_number="666").exists()


def test_crafted_post_enrolling_another_schools_student_fails(two_schools, admin_a):
    stranger = m.Student.objects.filter(school__code="B200").first()
    course = two_schools["A100"]
    response = login(admin_a).post(
        reverse("admin:myschool_coursestudent_add"), {"course": course.pk, "student": stranger.pk}
    )
    assert response.status_code == 200
    assert not m.CourseStudent.objects.filter(course=course, student=stranger).exists()


def test_school_admin_can_add_a_student_to_their_school(school_a, admin_a):
    response = login(admin_a).post(
        reverse("admin:myschool_student_add"),
        {"school": school_a.pk, "student_number": "777", "given_name": "Ada", "family_name": "Byron", "status": "active"},
    )
    assert response.status_code == 302
    assert m.Student.objects.get(student_number="777").school == school_a


def test_user_without_a_school_sees_nothing(two_schools):
    lost = f.UserFactory(groups=["School administrators"])
    page = login(lost).get(reverse("admin:myschool_course_changelist")).content.decode()
    assert "Algebra at" not in page


def test_course_changelist_counts_members_without_multiplying(two_schools, support):
    course = two_schools["A100"]
    f.CourseStudentFactory.create_batch(3, course=course)
    f.CourseTeacherFactory(course=course)
    from myschool.selectors import courses_with_member_counts

    annotated = courses_with_member_counts().get(pk=course.pk)
    assert (annotated.student_count, annotated.teacher_count) == (4, 2)


@pytest.mark.parametrize("url_name", ["admin:myschool_course_changelist", "admin:myschool_student_changelist"])
def test_changelist_query_count_does_not_grow_with_rows(url_name, school_a, admin_a, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(admin_a)

    def queries_for(n):
        for _ in range(n):
            course = f.CourseFactory(school=school_a, year=school_a.active_year)
            f.CourseStudentFactory(course=course)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(url_name)).status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(5) == queries_for(25)
