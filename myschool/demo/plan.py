"""The shape of the demo school, worked out before any row exists: grades, groups and who teaches what.

Pure functions of the head counts; no database and no randomness, so they are unit-tested directly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

GROUP_SIZE_MIN, GROUP_SIZE_TARGET, GROUP_SIZE_MAX = 20, 25, 30
TEACHER_LOAD = 5
GRADES = ("07", "08", "09", "10", "11", "12")
# (name, code, subject area). The first six are core subjects every student takes all year; each
# option block is one more course per student, in one of the block's subjects, for one term.
SUBJECTS = (
    ("Mathematics", "MATH", "Math"),
    ("English", "ENG", "English Language Arts"),
    ("Science", "SCI", "Science"),
    ("History", "HIST", "Social Studies"),
    ("Geography", "GEO", "Social Studies"),
    ("Physical Education", "PE", "Physical Education"),
    ("Art", "ART", "Fine Arts"),
    ("Music", "MUS", "Fine Arts"),
    ("Drama", "DRA", "Fine Arts"),
    ("French", "FRE", "World Languages"),
    ("Spanish", "SPA", "World Languages"),
    ("Computer Science", "CS", "Computer Science"),
)
CORE_SUBJECTS = (0, 1, 2, 3, 4, 5)
OPTION_BLOCKS = ((6, 7, 8), (9, 10, 11))
COURSES_PER_STUDENT = len(CORE_SUBJECTS) + len(OPTION_BLOCKS)
# (name, (years after the start year, month, day) of the first day, of the last day): inside Aug 1 – Jul 31.
TERMS = (
    ("Autumn term", (0, 9, 1), (0, 12, 19)),
    ("Spring term", (1, 1, 6), (1, 3, 27)),
    ("Summer term", (1, 4, 13), (1, 7, 10)),
)
ALL_TERMS = tuple(range(len(TERMS)))


@dataclass(frozen=True)
class Grade:
    """One grade: its students are the indices ``first`` … ``first + size - 1``, split into ``groups``
    homerooms and, per course slot, into ``groups`` teaching groups."""

    code: str
    first: int
    size: int
    groups: int

    @property
    def students(self) -> range:
        return range(self.first, self.first + self.size)


@dataclass(frozen=True)
class CoursePlan:
    """One course (teaching group) to create."""

    grade: int  # index into GRADES
    slot: int  # 0–7: which core subject or option block of the grade's timetable it fills
    subject: int  # index into SUBJECTS
    letter: int  # 0 → "A": its letter among its grade's courses of the same subject
    terms: tuple[int, ...]  # indices into TERMS


@dataclass(frozen=True)
class Assignment:
    """A teacher (index) teaching a course or homeroom (index into the course plans or homerooms)."""

    teacher: int
    is_course: bool
    group: int
    is_main: bool


def academic_year_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    """The Aug 1 – Jul 31 academic year containing ``today``, as (first day, last day)."""
    start_year = today.year if today.month >= 8 else today.year - 1
    return dt.date(start_year, 8, 1), dt.date(start_year + 1, 7, 31)


def term_dates(year_start: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(name, first day, last day) of each term of the year starting ``year_start``."""
    return [
        (name, dt.date(year_start.year + first[0], *first[1:]), dt.date(year_start.year + last[0], *last[1:]))
        for name, first, last in TERMS
    ]


def group_count(size: int) -> int:
    """How many groups to split ``size`` students into, evenly, so that each has 20–30 (about 25).

    When no count fits (fewer than 20, or 31–39 students) the fewest groups of at most 30; 0 for nobody.
    """
    if size <= 0:
        return 0
    fitting = range(math.ceil(size / GROUP_SIZE_MAX), size // GROUP_SIZE_MIN + 1)
    if not fitting:
        return math.ceil(size / GROUP_SIZE_MAX)
    return min(fitting, key=lambda k: abs(size / k - GROUP_SIZE_TARGET))


def split_evenly(items: list[int], parts: int) -> Iterator[list[int]]:
    """Cut ``items`` into ``parts`` consecutive slices whose lengths differ by at most one."""
    size, extra = divmod(len(items), parts)
    start = 0
    for part in range(parts):
        end = start + size + (part < extra)
        yield items[start:end]
        start = end


def group_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: group letters that never run out."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def grades_plan(students: int) -> list[Grade]:
    """Spread ``students`` over GRADES as evenly as possible, the lower grades taking any remainder."""
    size, extra = divmod(students, len(GRADES))
    grades, first = [], 0
    for index, code in enumerate(GRADES):
        count = size + (index < extra)
        grades.append(Grade(code=code, first=first, size=count, groups=group_count(count)))
        first += count
    return grades


def courses_plan(grades: list[Grade]) -> list[CoursePlan]:
    """Per grade, slot and group, the course that group of students takes, in creation order.

    Core courses run all three terms. Option groups cycle through their block's subjects and run
    one term each, the term moving on with every round of the block (Art 9A autumn, Art 9B spring).
    """
    plans = []
    for grade_index, grade in enumerate(grades):
        for slot in range(COURSES_PER_STUDENT):
            for group in range(grade.groups):
                if slot < len(CORE_SUBJECTS):
                    plans.append(CoursePlan(grade_index, slot, CORE_SUBJECTS[slot], group, ALL_TERMS))
                else:
                    block = OPTION_BLOCKS[slot - len(CORE_SUBJECTS)]
                    letter, choice = divmod(group, len(block))
                    plans.append(CoursePlan(grade_index, slot, block[choice], letter, (letter % len(TERMS),)))
    return plans


def teaching_plan(*, teachers: int, courses: list[CoursePlan], homerooms: int) -> Iterator[Assignment]:
    """Give every group exactly one main teacher and every teacher about ``TEACHER_LOAD`` groups.

    Courses are lined up by subject, grade and letter with the homerooms spread evenly among them, and
    the line is cut into one consecutive run per teacher, so a teacher mostly teaches one subject and
    main-teacher loads differ by at most one. A teacher with fewer than ``TEACHER_LOAD`` groups
    co-teaches (not as main teacher) the groups just after their run. With more groups than
    ``teachers × TEACHER_LOAD`` every teacher simply has more groups. Yields per teacher, in order.
    """
    by_subject = sorted(range(len(courses)), key=lambda i: (courses[i].subject, courses[i].grade, courses[i].letter))
    lineup: list[tuple[bool, int]] = []
    homeroom = 0
    for position, course in enumerate(by_subject, start=1):
        lineup.append((True, course))
        while homeroom < homerooms and (homeroom + 1) * len(by_subject) <= position * homerooms:
            lineup.append((False, homeroom))
            homeroom += 1
    lineup.extend((False, index) for index in range(homeroom, homerooms))

    groups = len(lineup)
    load = min(TEACHER_LOAD, groups)
    for teacher in range(teachers):
        first, end = -(-teacher * groups // teachers), -(-(teacher + 1) * groups // teachers)
        for position in range(first, end):
            yield Assignment(teacher, *lineup[position], is_main=True)
        # Wraps around before reaching the teacher's own run: load - own ≤ groups - own.
        for extra in range(max(0, load - (end - first))):
            yield Assignment(teacher, *lineup[(end + extra) % groups], is_main=False)
