"""Turning a parsed OneRoster bundle into MySchool rows, checking every reference on the way.

The mapping (the reverse of the publication's, see ``design.md``):

- org ``school`` → School (code = identifier, or the sourcedId when blank); org ``district``
  → SchoolGroup when a school names it as parent; other org types are skipped.
- academicSession ``schoolYear`` → AcademicYear; ``term``/``semester``/``gradingPeriod`` →
  Term of the school year above it. A session goes to every school whose classes or courses
  use it. Used by one school it keeps its sourcedId; used by several it is copied to each
  under the id ``<sourcedId>~<school sourcedId>`` (:func:`copy_id`), the same on every import.
- course → Subject of each school using it (same copy rule); its ``subjects`` and
  ``subjectCodes`` lists are kept as comma-separated lists (``Math,Science``) and published as
  lists again; courses only homeroom classes use are skipped (MySchool publishes one Homeroom course per school and year itself).
- class ``scheduled`` → Course, ``homeroom`` → SchoolClass; its year is its terms' year.
- user ``student`` → Student (student number = identifier), ``teacher`` → Teacher (staff
  number = identifier), in the first school of ``orgSourcedIds``; other roles are skipped.
  A user of several schools (``orgSourcedIds="org-A,org-B"``) is one person (issue 14): the
  *main record* in the first school keeps the row's sourcedId, and each other school gets a
  record under ``<sourcedId>~<school sourcedId>`` linked to it (``same_person_as``), published
  as one user with every school in ``orgs``. An enrollment in a class of another of the user's
  schools is that school's record's membership. The import sets such links and never removes
  one (support may have linked two records the bundle lists separately).
  ``enabledUser=false`` or ``status=tobedeleted`` → status "left". ``password`` is never read.
- demographics → the student's birth date and sex.
- enrollment ``student``/``teacher`` → the membership of that class kind (``primary`` →
  main teacher); other roles are skipped.

Rows with ``status=tobedeleted`` (other than users) are skipped.

Memory: the small files (orgs, sessions, courses, classes) are indexed in memory; users are
looked up in the bundle's workspace (:mod:`.store`), and the records of the models that grow
with the roster (:data:`LARGE_MODELS`: people and memberships) and the duplicate checks over
users and enrollments are kept there too, so planning a large ``users.csv`` holds no Python
object per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from myschool import models as m

from .bundle import Bundle, BundleError, ImportProblem, Row
from .store import KeyLines, RecordStore, RowStore, Workspace

# Model → its MySchool foreign keys (field → referenced model); the writer resolves sourcedIds to rows.
FOREIGN_KEYS: dict[type, dict[str, type]] = {
    m.SchoolGroup: {},
    m.School: {"group": m.SchoolGroup},
    m.AcademicYear: {"school": m.School},
    m.Term: {"year": m.AcademicYear},
    m.Subject: {"school": m.School},
    m.Course: {"school": m.School, "year": m.AcademicYear, "subject": m.Subject},
    m.SchoolClass: {"school": m.School, "year": m.AcademicYear},
    m.Student: {"school": m.School},
    m.Teacher: {"school": m.School},
    m.CourseStudent: {"course": m.Course, "student": m.Student},
    m.ClassStudent: {"school_class": m.SchoolClass, "student": m.Student},
    m.CourseTeacher: {"course": m.Course, "teacher": m.Teacher},
    m.ClassTeacher: {"school_class": m.SchoolClass, "teacher": m.Teacher},
}
MODEL_ORDER = list(FOREIGN_KEYS)
# Models with a row per user or per enrollment: planned into the workspace, written in batches.
GRADE_CODES = frozenset(m.GradeLevel.values)  # CEDS grade codes (the enum builds its list on every call)
LARGE_MODELS = (m.Student, m.Teacher, m.CourseStudent, m.ClassStudent, m.CourseTeacher, m.ClassTeacher)


def copy_id(sourced_id: str, school_sourced_id: str) -> str:
    """The deterministic sourcedId of the copy, for one school, of a row several schools share."""
    return f"{sourced_id}~{school_sourced_id}"


@dataclass
class ImportPlan:
    """What an import will write: for each model, sourcedId → field values (in planned order).

    Foreign keys hold the referenced row's sourcedId; a Course's ``terms`` is a list of them.
    The records of :data:`LARGE_MODELS` are a :class:`~.store.RecordStore` in ``workspace``
    (a mapping whose values are copies: set a record again to change it), the others dicts.
    ``skipped`` counts rows deliberately not imported, by reason.
    """

    workspace: Workspace = field(default_factory=Workspace, repr=False)
    records: dict[type, dict[str, dict] | RecordStore] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for model in MODEL_ORDER:
            self.records.setdefault(model, RecordStore(self.workspace) if model in LARGE_MODELS else {})


class _Planner:
    def __init__(self, bundle: Bundle, school_code: str | None):
        self.bundle = bundle
        self.school_code = school_code
        self.plan = ImportPlan(workspace=bundle.workspace)
        self.problems: list[ImportProblem] = []
        self.orgs = self._index("orgs")
        self.sessions = self._index("academicSessions")
        self.courses = self._index("courses")
        self.classes = self._index("classes")
        users = bundle.rows("users")
        self.users = users.index() if isinstance(users, RowStore) else self._index("users")
        self.school_orgs = {sid: row for sid, row in self.orgs.items() if row["type"] == "school"}
        self.in_scope: set[str] = set()

    def _index(self, name: str) -> dict[str, Row]:
        return {row["sourcedId"]: row for row in self.bundle.rows(name)}

    def record_ids(self, row: Row) -> dict[str, str] | None:
        """School sourcedId → the sourcedId of the user's record there (the first school's keeps the
        row's own, the others are copies), or ``None`` for a user that gets no record (an org not
        in orgs.csv, a role other than student or teacher, no school)."""
        if row["role"] not in ("student", "teacher") or any(o not in self.orgs for o in row["orgSourcedIds"]):
            return None
        schools = list(dict.fromkeys(o for o in row["orgSourcedIds"] if o in self.school_orgs))
        sid = row["sourcedId"]
        return {org: sid if index == 0 else copy_id(sid, org) for index, org in enumerate(schools)} or None

    def problem(self, file: str, row: Row | None, reason: str) -> None:
        self.problems.append(ImportProblem(f"{file}.csv", row.line if row else 0, reason))

    def add(self, model: type, sourced_id: str, **values) -> None:
        self.plan.records[model][sourced_id] = values

    # orgs -----------------------------------------------------------------------------
    def plan_orgs(self) -> None:
        for sid, row in self.orgs.items():
            parent = row["parentSourcedId"]
            if parent and parent not in self.orgs:
                self.problem("orgs", row, f"parentSourcedId {parent!r} is not in orgs.csv")
        for sid, row in self.school_orgs.items():
            code = row["identifier"] or sid
            if self.school_code is not None and code != self.school_code:
                continue
            if row["status"] == "tobedeleted":
                self.plan.skipped["schools marked tobedeleted"] += 1
                continue
            self.in_scope.add(sid)
            parent = self.orgs.get(row["parentSourcedId"])
            group = parent["sourcedId"] if parent is not None and parent["type"] == "district" else None
            if group:
                self.add(m.SchoolGroup, group, name=parent["name"], code=parent["identifier"] or group)
            self.add(m.School, sid, name=row["name"], code=code, group=group, _line=row.line)
        if self.school_code is not None and not self.in_scope:
            self.problem("orgs", None, f"no school org has the identifier {self.school_code!r}")
        self.plan.skipped["orgs of other types"] = sum(
            1 for row in self.orgs.values() if row["type"] not in ("school", "district")
        )

    # academic sessions ------------------------------------------------------------------
    def school_year_of(self, sid: str) -> str | None:
        """The schoolYear session at or above session ``sid``, or None."""
        seen = set()
        while sid and sid not in seen:
            seen.add(sid)
            row = self.sessions.get(sid)
            if row is None:
                return None
            if row["type"] == "schoolYear":
                return sid
            sid = row["parentSourcedId"]
        return None

    def check_sessions(self) -> None:
        for sid, row in self.sessions.items():
            parent = row["parentSourcedId"]
            if parent and parent not in self.sessions:
                self.problem("academicSessions", row, f"parentSourcedId {parent!r} is not in academicSessions.csv")
            elif row["type"] != "schoolYear" and self.school_year_of(sid) is None:
                self.problem("academicSessions", row, f"{row['type']} {sid!r} has no schoolYear above it")
            if row["startDate"] and row["endDate"] and row["endDate"] < row["startDate"]:
                self.problem("academicSessions", row, "endDate is before startDate")
            year = self.sessions.get(self.school_year_of(sid) or "")
            if year is not None and year is not row and row["startDate"] and row["endDate"]:
                if row["startDate"] < year["startDate"] or row["endDate"] > year["endDate"]:
                    self.problem("academicSessions", row, f"{row['type']} {sid!r} lies outside its school year")

    # classes and courses ----------------------------------------------------------------
    def class_year(self, row: Row) -> str | None:
        years = {self.school_year_of(t) for t in row["termSourcedIds"]}
        if len(years) != 1 or None in years:
            self.problem("classes", row, "termSourcedIds must all belong to one school year")
            return None
        return years.pop()

    def check_classes(self) -> dict[str, str]:
        """Validate classes; return class sourcedId → school year sourcedId for the valid ones."""
        class_year: dict[str, str] = {}
        for sid, row in self.classes.items():
            ok = True
            if row["courseSourcedId"] not in self.courses:
                self.problem("classes", row, f"courseSourcedId {row['courseSourcedId']!r} is not in courses.csv")
                ok = False
            if row["schoolSourcedId"] not in self.school_orgs:
                self.problem("classes", row, f"schoolSourcedId {row['schoolSourcedId']!r} is not a school in orgs.csv")
                ok = False
            missing = [t for t in row["termSourcedIds"] if t not in self.sessions]
            if missing:
                self.problem("classes", row, f"termSourcedIds {', '.join(missing)} not in academicSessions.csv")
                ok = False
            bad_grades = [g for g in row["grades"] if g not in GRADE_CODES]
            if bad_grades:
                self.problem("classes", row, f"grades {', '.join(bad_grades)} are not CEDS grade codes (KG, 01 … 13, …)")
            year = self.class_year(row) if ok else None
            if year:
                class_year[sid] = year
        return class_year

    def plan_sessions_and_subjects(self, class_year: dict[str, str]) -> None:
        for sid, row in self.courses.items():
            if row["orgSourcedId"] not in self.orgs:
                self.problem("courses", row, f"orgSourcedId {row['orgSourcedId']!r} is not in orgs.csv")
            year = row["schoolYearSourcedId"]
            if year and (year not in self.sessions or self.sessions[year]["type"] != "schoolYear"):
                self.problem("courses", row, f"schoolYearSourcedId {year!r} is not a schoolYear in academicSessions.csv")

        # Which schools use each session and each course (over the whole bundle, so ids are stable).
        session_schools: dict[str, set[str]] = defaultdict(set)
        course_schools: dict[str, set[str]] = defaultdict(set)
        scheduled_courses = set()
        for sid, year in class_year.items():
            row = self.classes[sid]
            school = row["schoolSourcedId"]
            session_schools[year].add(school)
            for term in row["termSourcedIds"]:
                session_schools[term].add(school)
            course_schools[row["courseSourcedId"]].add(school)
            if row["classType"] == "scheduled":
                scheduled_courses.add(row["courseSourcedId"])
        for sid, row in self.courses.items():
            if row["orgSourcedId"] in self.school_orgs:
                course_schools[sid].add(row["orgSourcedId"])
                if row["schoolYearSourcedId"] in self.sessions:
                    session_schools[row["schoolYearSourcedId"]].add(row["orgSourcedId"])
        self.session_ids = {s: self._ids(s, schools) for s, schools in session_schools.items()}
        self.course_ids = {c: self._ids(c, schools) for c, schools in course_schools.items()}

        for sid, per_school in self.session_ids.items():
            row = self.sessions[sid]
            for school, new_id in per_school.items():
                if school not in self.in_scope or row["status"] == "tobedeleted":
                    continue
                values = dict(name=row["title"], start_date=row["startDate"], end_date=row["endDate"], _line=row.line)
                if row["type"] == "schoolYear":
                    self.add(m.AcademicYear, new_id, school=school, **values)
                else:
                    year = self.session_ids[self.school_year_of(sid)][school]
                    self.add(m.Term, new_id, year=year, **values)
        used_courses = {self.classes[c]["courseSourcedId"] for c in class_year}
        for sid, per_school in self.course_ids.items():
            row = self.courses[sid]
            if sid in used_courses and sid not in scheduled_courses:
                self.plan.skipped["courses used only by homeroom classes"] += 1
                continue
            for school, new_id in per_school.items():
                if school in self.in_scope and row["status"] != "tobedeleted":
                    self.add(
                        m.Subject,
                        new_id,
                        school=school,
                        name=row["title"],
                        code=row["courseCode"],
                        subject_area=",".join(row["subjects"]),
                        subject_code=",".join(row["subjectCodes"]),
                        _line=row.line,
                    )

    @staticmethod
    def _ids(sourced_id: str, schools: set[str]) -> dict[str, str]:
        if len(schools) == 1:
            return {next(iter(schools)): sourced_id}
        return {school: copy_id(sourced_id, school) for school in schools}

    def plan_classes(self, class_year: dict[str, str]) -> None:
        for sid, year in class_year.items():
            row = self.classes[sid]
            school = row["schoolSourcedId"]
            if school not in self.in_scope:
                continue
            if row["status"] == "tobedeleted":
                self.plan.skipped["classes marked tobedeleted"] += 1
                continue
            common = dict(
                school=school,
                year=self.session_ids[year][school],
                name=row["title"],
                code=row["classCode"],
                location=row["location"],
                _line=row.line,
            )
            if row["classType"] == "homeroom":
                self.add(m.SchoolClass, sid, grade_level=(row["grades"] or [""])[0], **common)
            else:
                terms = [self.session_ids[t][school] for t in row["termSourcedIds"] if self.sessions[t]["type"] != "schoolYear"]
                self.add(
                    m.Course,
                    sid,
                    subject=self.course_ids[row["courseSourcedId"]][school],
                    grade_levels=",".join(row["grades"]),
                    periods=",".join(row["periods"]),
                    terms=terms,
                    **common,
                )

    # users ------------------------------------------------------------------------------
    def plan_users(self) -> None:
        numbers = KeyLines(self.plan.workspace)  # (school, role, identifier) → the line last seen on
        for sid, row in self.users.items():
            missing = [o for o in row["orgSourcedIds"] if o not in self.orgs]
            if missing:
                self.problem("users", row, f"orgSourcedIds {', '.join(missing)} not in orgs.csv")
                continue
            role = row["role"]
            if role not in ("student", "teacher"):
                self.plan.skipped[f"users with role {role}"] += 1
                continue
            schools = [o for o in row["orgSourcedIds"] if o in self.school_orgs]
            if not schools:
                self.problem("users", row, "orgSourcedIds names no school")
                continue
            record_ids = self.record_ids(row)
            if "@" in row["username"]:
                self.problem("users", row, f"username {row['username']!r} contains '@' (Microsoft appends the domain)")
            if not row["identifier"]:
                self.problem("users", row, f"identifier (the {role}'s number) is required")
            if row["email"]:
                try:
                    validate_email(row["email"])
                except ValidationError:
                    self.problem("users", row, f"email {row['email']!r} is not an email address")
            for org in record_ids:
                earlier = numbers.latest((org, role, row["identifier"]), row.line)
                if row["identifier"] and earlier is not None:
                    self.problem("users", row, f"{role} identifier {row['identifier']!r} repeats line {earlier} in the same school")
            grade = (row["grades"] or [""])[0] if role == "student" else ""
            if grade and grade not in GRADE_CODES:
                self.problem("users", row, f"grade {grade!r} is not a CEDS grade code (KG, 01 … 13, …)")
            for org, record_id in record_ids.items():
                if org in self.in_scope:
                    self.plan_user(row, role, record_id, org, main=None if record_id == sid else sid)

    def plan_user(self, row: Row, role: str, sourced_id: str, school: str, *, main: str | None) -> None:
        """Plan the Student or Teacher of ``row`` at ``school``; ``main`` is the main record's sourcedId for a copy."""
        values = dict(
            school=school,
            username=row["username"],
            given_name=row["givenName"],
            middle_name=row["middleName"],
            family_name=row["familyName"],
            primary_email=row["email"],
            # The plain value, not the enum member: records are pickled, and members unpickle slowly.
            status=(m.Status.LEFT if row["status"] == "tobedeleted" or row["enabledUser"] is False else m.Status.ACTIVE).value,
            _line=row.line,
            _same_person_as=main,
        )
        if role == "student":
            grade = (row["grades"] or [""])[0]
            self.add(m.Student, sourced_id, student_number=row["identifier"], grade_level=grade, **values)
        else:
            self.add(m.Teacher, sourced_id, staff_number=row["identifier"], **values)

    def plan_demographics(self) -> None:
        students = self.plan.records[m.Student]
        for row in self.bundle.rows("demographics"):
            sid = row["sourcedId"]
            if sid not in self.users:
                self.problem("demographics", row, f"sourcedId {sid!r} is not a user in users.csv")
            elif planned := [r for r in (self.record_ids(self.users[sid]) or {}).values() if r in students]:
                for record_id in planned:
                    students[record_id] = {**students[record_id], "birth_date": row["birthDate"], "sex": row["sex"] or ""}
            else:
                self.plan.skipped["demographics of users other than students"] += 1

    def plan_enrollments(self) -> None:
        seen = KeyLines(self.plan.workspace)  # (class, user) → the line of the first enrollment
        for row in self.bundle.rows("enrollments"):
            class_row = self.classes.get(row["classSourcedId"])
            user_row = self.users.get(row["userSourcedId"])
            problems = []
            if class_row is None:
                problems.append(f"classSourcedId {row['classSourcedId']!r} is not in classes.csv")
            if user_row is None:
                problems.append(f"userSourcedId {row['userSourcedId']!r} is not in users.csv")
            if row["schoolSourcedId"] not in self.school_orgs:
                problems.append(f"schoolSourcedId {row['schoolSourcedId']!r} is not a school in orgs.csv")
            elif class_row is not None and class_row["schoolSourcedId"] != row["schoolSourcedId"]:
                problems.append("schoolSourcedId is not the school of the class")
            if row["beginDate"] and row["endDate"] and row["endDate"] < row["beginDate"]:
                problems.append("endDate is before beginDate")
            for reason in problems:
                self.problem("enrollments", row, reason)
            if problems:
                continue
            role = row["role"]
            if role not in ("student", "teacher"):
                self.plan.skipped[f"enrollments with role {role}"] += 1
                continue
            if user_row["role"] != role:
                self.problem("enrollments", row, f"a {role} enrollment for a user whose role is {user_row['role']}")
                continue
            record_ids = self.record_ids(user_row)
            if record_ids is not None and class_row["schoolSourcedId"] not in record_ids:
                self.problem(
                    "enrollments", row,
                    "the class's school is not one of the user's orgSourcedIds; memberships cannot cross schools",
                )
                continue
            user_id = record_ids[class_row["schoolSourcedId"]] if record_ids else row["userSourcedId"]
            first_line = seen.first((row["classSourcedId"], row["userSourcedId"]), row.line)
            if first_line is not None:
                self.problem("enrollments", row, f"the user is already enrolled in this class on line {first_line}")
                continue
            if class_row["schoolSourcedId"] not in self.in_scope:
                continue
            if row["status"] == "tobedeleted":
                self.plan.skipped["enrollments marked tobedeleted"] += 1
                continue
            homeroom = class_row["classType"] == "homeroom"
            group = {"school_class" if homeroom else "course": row["classSourcedId"]}
            if role == "student":
                model = m.ClassStudent if homeroom else m.CourseStudent
                self.add(
                    model, row["sourcedId"], student=user_id, begin_date=row["beginDate"],
                    end_date=row["endDate"], _line=row.line, **group,
                )
            else:
                model = m.ClassTeacher if homeroom else m.CourseTeacher
                self.add(
                    model, row["sourcedId"], teacher=user_id, is_main_teacher=bool(row["primary"]),
                    _line=row.line, **group,
                )

    def run(self) -> ImportPlan:
        self.plan_orgs()
        self.check_sessions()
        class_year = self.check_classes()
        self.plan_sessions_and_subjects(class_year)
        self.plan_classes(class_year)
        self.plan_users()
        self.plan_demographics()
        self.plan_enrollments()
        if self.problems:
            raise BundleError(sorted(self.problems))
        self.plan.skipped = Counter({k: v for k, v in self.plan.skipped.items() if v})
        return self.plan


def plan_import(bundle: Bundle, *, school_code: str | None = None) -> ImportPlan:
    """Map ``bundle`` to MySchool rows (see the module docstring), restricted to one school when
    ``school_code`` is given. Raises :class:`BundleError` listing every dangling reference,
    cross-school link, bad username and other problem found.
    """
    return _Planner(bundle, school_code).run()
