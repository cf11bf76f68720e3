"""factory_boy factories for the school domain and staff users."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from myschool import models as m
from myschool.roles import SCHOOL_ADMINISTRATORS_GROUP, SUPPORT_GROUP

PASSWORD = "correct horse battery staple"


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.School

    name = factory.Sequence(lambda n: f"School {n}")
    code = factory.Sequence(lambda n: f"S{n:04d}")


class AcademicYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.AcademicYear
        django_get_or_create = ("school", "name")

    school = factory.SubFactory(SchoolFactory)
    name = "2026/27"
    start_date = dt.date(2026, 8, 1)
    end_date = dt.date(2027, 7, 31)


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Term

    year = factory.SubFactory(AcademicYearFactory)
    name = factory.Sequence(lambda n: f"Term {n}")
    start_date = factory.LazyAttribute(lambda o: o.year.start_date)
    end_date = factory.LazyAttribute(lambda o: o.year.end_date)


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Subject

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Subject {n}")
    code = factory.Sequence(lambda n: f"SUB{n}")
    subject_area = "Math"


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Course

    school = factory.SubFactory(SchoolFactory)
    year = factory.SubFactory(AcademicYearFactory, school=factory.SelfAttribute("..school"))
    subject = factory.SubFactory(SubjectFactory, school=factory.SelfAttribute("..school"))
    name = factory.Sequence(lambda n: f"Course {n}")
    code = factory.Sequence(lambda n: f"C{n}")
    grade_levels = "09"


class SchoolClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SchoolClass

    school = factory.SubFactory(SchoolFactory)
    year = factory.SubFactory(AcademicYearFactory, school=factory.SelfAttribute("..school"))
    name = factory.Sequence(lambda n: f"Class {n}")
    code = factory.Sequence(lambda n: f"K{n}")
    grade_level = "09"


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Student

    school = factory.SubFactory(SchoolFactory)
    student_number = factory.Sequence(lambda n: f"{100000 + n}")
    username = factory.Sequence(lambda n: f"student{n}")
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Lovelace{n}")
    primary_email = factory.LazyAttribute(lambda o: f"{o.username}@school.example")
    grade_level = "09"


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Teacher

    school = factory.SubFactory(SchoolFactory)
    staff_number = factory.Sequence(lambda n: f"T{n}")
    username = factory.Sequence(lambda n: f"teacher{n}")
    given_name = "Alan"
    family_name = factory.Sequence(lambda n: f"Turing{n}")
    primary_email = factory.LazyAttribute(lambda o: f"{o.username}@school.example")


class CourseStudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CourseStudent

    course = factory.SubFactory(CourseFactory)
    student = factory.SubFactory(StudentFactory, school=factory.SelfAttribute("..course.school"))


class CourseTeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CourseTeacher

    course = factory.SubFactory(CourseFactory)
    teacher = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..course.school"))


class ClassStudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ClassStudent

    school_class = factory.SubFactory(SchoolClassFactory)
    student = factory.SubFactory(StudentFactory, school=factory.SelfAttribute("..school_class.school"))


class ClassTeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ClassTeacher

    school_class = factory.SubFactory(SchoolClassFactory)
    teacher = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..school_class.school"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@myschool.example")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()


def support_user(**kwargs):
    """A member of the Support group."""
    return UserFactory(groups=[SUPPORT_GROUP], **kwargs)


def school_admin(school: m.School, **kwargs):
    """A school administrator of ``school``."""
    user = UserFactory(groups=[SCHOOL_ADMINISTRATORS_GROUP], **kwargs)
    m.SchoolStaff.objects.create(user=user, school=school)
    return user


def granted_group(school: m.School, *features: str, name: str | None = None) -> Group:
    """A Django group to which support granted the LIS ``features`` (default: both) for ``school``."""
    from lis.models import Feature, FeatureGrant

    group = Group.objects.create(name=name or f"LIS team of {school.code}")
    for feature in features or Feature.values:
        FeatureGrant.objects.create(feature=feature, school=school, group=group)
    return group
