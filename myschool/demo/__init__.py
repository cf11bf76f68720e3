"""A deterministic, realistic demo school for trying MySchool and for load tests.

``demo_school_create`` builds one (``manage.py seed_demo`` and ``bench/seed.py`` call it);
``plan`` works out its shape, ``names`` holds the name lists.
"""

from .plan import GRADES, SUBJECTS, TEACHER_LOAD, academic_year_bounds, group_count
from .services import (
    BATCH_SIZE,
    DEFAULT_SCHOOL_NAME,
    FOREIGN_DOMAIN,
    MICROSOFT_DOMAIN,
    DemoSummary,
    EmailProblem,
    EmailProblemKind,
    demo_school_create,
    demo_school_delete,
)

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_SCHOOL_NAME",
    "FOREIGN_DOMAIN",
    "GRADES",
    "MICROSOFT_DOMAIN",
    "SUBJECTS",
    "TEACHER_LOAD",
    "DemoSummary",
    "EmailProblem",
    "EmailProblemKind",
    "academic_year_bounds",
    "demo_school_create",
    "demo_school_delete",
    "group_count",
]
