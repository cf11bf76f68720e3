"""The MySchool school domain. It knows nothing of Microsoft or OneRoster publication."""

from .base import GradeLevel, SourcedModel, Status, new_sourced_id, split_list
from .emails import EmailChange, EmailChangeBatch, EmailChangeKind, PrimaryEmail
from .memberships import ClassStudent, ClassTeacher, CourseStudent, CourseTeacher
from .people import SchoolStaff, Sex, Student, Teacher
from .school import AcademicYear, School, SchoolGroup, Term
from .teaching import Course, SchoolClass, Subject

__all__ = [
    "AcademicYear",
    "ClassStudent",
    "ClassTeacher",
    "Course",
    "CourseStudent",
    "CourseTeacher",
    "EmailChange",
    "EmailChangeBatch",
    "EmailChangeKind",
    "GradeLevel",
    "PrimaryEmail",
    "School",
    "SchoolClass",
    "SchoolGroup",
    "SchoolStaff",
    "Sex",
    "SourcedModel",
    "Status",
    "Student",
    "Subject",
    "Teacher",
    "Term",
    "new_sourced_id",
    "split_list",
]
