"""Writing an :class:`~myschool.oneroster_csv.plan.ImportPlan`: upsert by sourcedId, in bulk.

Rows are matched by sourcedId. A matched row is updated only in the fields whose value
differs, an unknown one is created, and nothing is ever deleted: importing the same bundle
twice changes nothing the second time. A sourcedId already used by a row of **another school**
is refused (``file:line``), never matched: simple SIS ids such as ``usr-13001`` repeat between
schools' systems, and matching them would move one school's person into another school.

Everything works in batches of :data:`BATCH` planned records (:func:`_batches`): the checks
against the database and the upsert read one batch of a model's records, query and write it,
and keep nothing of it but counts — except for the small models (schools, years, terms,
subjects, courses, classes), whose sourcedId → pk maps the following models need. A
membership's student or teacher is looked up by sourcedId per batch. So an import holds at most
one batch of model instances, whatever the size of the roster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from myschool import models as m
from myschool.scoping import SCHOOL_PATHS
from myschool.statistics import school_tables_analyze
from myschool.signals import rows_untracked, school_data_changed_notify, school_groups_changed_notify

from .bundle import BundleError, ImportProblem, read_bundle_checked
from .plan import FOREIGN_KEYS, LARGE_MODELS, MODEL_ORDER, ImportPlan, plan_import
from .store import RecordStore, record_batches

BATCH = 2000

# Models whose sourcedIds share one OneRoster kind: an id may not be used by both.
SAME_KIND = [
    (m.School, m.SchoolGroup),
    (m.AcademicYear, m.Term),
    (m.Course, m.SchoolClass),
    (m.Student, m.Teacher),
    (m.CourseStudent, m.ClassStudent, m.CourseTeacher, m.ClassTeacher),
]
# (model, unique fields besides sourcedId) checked before writing, so a clash is reported, not raised.
NATURAL_KEYS = [
    (m.SchoolGroup, ("code",)),
    (m.School, ("code",)),
    (m.AcademicYear, ("school", "name")),
    (m.Student, ("school", "student_number")),
    (m.Teacher, ("school", "staff_number")),
]


@dataclass
class ModelCounts:
    """Rows of one model an import created, updated and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    """What an import did: per model verbose name plural, rows created/updated/unchanged; skipped rows by reason."""

    counts: dict[str, ModelCounts] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    school_ids: set[int] = field(default_factory=set)  # the schools the import wrote to

    def lines(self) -> list[str]:
        """Human-readable summary lines, one per model and one per skipped reason."""
        out = [
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged" for name, c in self.counts.items()
        ]
        out += [f"skipped {reason}: {n}" for reason, n in sorted(self.skipped.items())]
        return out


def _chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(records: dict[str, dict] | RecordStore, size: int | None = None) -> Iterator[dict[str, dict]]:
    """A model's planned records (sourcedId → values) in planned order, at most ``size``
    (default :data:`BATCH`) at a time."""
    size = size or BATCH
    if isinstance(records, RecordStore):
        return records.batches(size)
    return record_batches(records.items(), size)


def _existing(model: type, sourced_ids: list[str]) -> dict[str, object]:
    found = {}
    for chunk in _chunks(sourced_ids):
        found.update((obj.sourced_id, obj) for obj in model.objects.filter(sourced_id__in=chunk))
    return found


def _planned_school(plan: ImportPlan, model: type, values: dict) -> str | None:
    """The sourcedId of the school a planned row belongs to."""
    if "school" in values:
        return values["school"]
    if model is m.Term:
        return plan.records[m.AcademicYear].get(values["year"], {}).get("school")
    if "course" in values:
        return plan.records[m.Course].get(values["course"], {}).get("school")
    if "school_class" in values:
        return plan.records[m.SchoolClass].get(values["school_class"], {}).get("school")
    return None


def other_school_problems(plan: ImportPlan) -> list[ImportProblem]:
    """Rows of ``plan`` whose sourcedId is already used by a row of another school (one query per model and chunk)."""
    problems: list[ImportProblem] = []
    for model in MODEL_ORDER:
        if model in (m.SchoolGroup, m.School):  # not rows of one school
            continue
        path = SCHOOL_PATHS[model]  # the lookup from one of its rows to its school
        for records in _batches(plan.records[model]):
            rows = model.objects.filter(sourced_id__in=list(records)).values_list(
                "sourced_id", f"{path}__sourced_id", f"{path}__name", f"{path}__code"
            )
            for sid, school_sid, name, code in rows:
                values = records[sid]
                if _planned_school(plan, model, values) == school_sid:
                    continue
                problems.append(
                    ImportProblem(
                        _file_of(model),
                        values.get("_line", 0),
                        f"sourcedId {sid!r} is already used by a {model._meta.verbose_name} of another school, "
                        f"{name} ({code}); sourcedIds must be unique across schools — give this row another id",
                    )
                )
    return problems


def check_against_database(plan: ImportPlan) -> list[ImportProblem]:
    """Problems the import would meet in the database: an id used by another kind or by another
    school's row, a clashing code or number."""
    problems: list[ImportProblem] = other_school_problems(plan)
    for family in SAME_KIND:
        for model in family:
            for records in _batches(plan.records[model]):
                for other in family:
                    if other is model:
                        continue
                    for sid in other.objects.filter(sourced_id__in=list(records)).values_list("sourced_id", flat=True):
                        line = records[sid].get("_line", 0)
                        problems.append(
                            ImportProblem(
                                "(database)" if not line else _file_of(model),
                                line,
                                f"sourcedId {sid!r} is already used by a {other._meta.verbose_name}",
                            )
                        )
    for model, key in NATURAL_KEYS:
        fk_names = [f for f in key if f in FOREIGN_KEYS[model]]
        lookups = [f"{f}__sourced_id" if f in fk_names else f for f in key]
        for records in _batches(plan.records[model]):
            wanted = {tuple(values[f] for f in key): sid for sid, values in records.items()}
            candidates = {f"{lookup}__in": sorted({key[i] for key in wanted}) for i, lookup in enumerate(lookups)}
            for row in model.objects.filter(**candidates).values("sourced_id", *lookups):
                natural = tuple(row[lookup] for lookup in lookups)
                sid = wanted.get(natural)
                if sid is not None and sid != row["sourced_id"]:
                    values = records[sid]
                    problems.append(
                        ImportProblem(
                            _file_of(model),
                            values.get("_line", 0),
                            f"{model._meta.verbose_name} {' / '.join(map(str, natural))} already exists "
                            f"with sourcedId {row['sourced_id']!r}",
                        )
                    )
    return problems


def _file_of(model: type) -> str:
    if model in (m.School, m.SchoolGroup):
        return "orgs.csv"
    if model in (m.AcademicYear, m.Term):
        return "academicSessions.csv"
    if model in (m.Course, m.SchoolClass):
        return "classes.csv"
    if model is m.Subject:
        return "courses.csv"
    if model in (m.Student, m.Teacher):
        return "users.csv"
    return "enrollments.csv"


def _upsert(model: type, records: dict[str, dict], pks: dict[type, dict[str, int]]) -> tuple[set[str], set[str], dict]:
    """Create or update ``model`` rows from one batch of ``records``; return (created sourcedIds,
    updated sourcedIds, sourcedId → row) for the batch.

    Foreign keys to the small models resolve through ``pks`` (model → sourcedId → pk); those to
    people (:data:`LARGE_MODELS`) with one query per batch.
    """
    fks = FOREIGN_KEYS[model]
    looked_up = {
        fk: dict(
            target.objects.filter(sourced_id__in={v[fk] for v in records.values() if v[fk] is not None}).values_list(
                "sourced_id", "pk"
            )
        )
        for fk, target in fks.items()
        if target in LARGE_MODELS
    }
    rows: dict[str, dict] = {}
    for sid, values in records.items():
        row = {k: v for k, v in values.items() if not k.startswith("_") and k != "terms"}
        for fk, target in fks.items():
            ref = row.pop(fk)
            row[f"{fk}_id"] = (looked_up[fk] if fk in looked_up else pks[target])[ref] if ref is not None else None
        rows[sid] = row
    existing = _existing(model, list(rows))
    to_create, to_update, changed_fields = [], [], set()
    for sid, row in rows.items():
        obj = existing.get(sid)
        if obj is None:
            to_create.append(model(sourced_id=sid, **row))
            continue
        changed = [name for name, value in row.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, row[name])
        if changed:
            changed_fields.update(changed)
            to_update.append(obj)
    model.objects.bulk_create(to_create, batch_size=BATCH)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields), batch_size=500)
    objects = {**existing, **{obj.sourced_id: obj for obj in to_create}}
    if any(obj.pk is None for obj in to_create):  # databases that cannot return ids from bulk inserts
        objects.update(_existing(model, [obj.sourced_id for obj in to_create]))
    return {o.sourced_id for o in to_create}, {o.sourced_id for o in to_update}, objects


def _set_course_terms(plan: ImportPlan, pks: dict[type, dict[str, int]]) -> set[str]:
    """Make each imported Course's terms exactly the bundle's; return the sourcedIds whose terms changed."""
    through = m.Course.terms.through
    course_sid = {pk: sid for sid, pk in pks[m.Course].items()}
    wanted = {
        (pks[m.Course][sid], pks[m.Term][t]) for sid, values in plan.records[m.Course].items() for t in values["terms"]
    }
    current = set()
    for chunk in _chunks(list(course_sid)):
        current.update(through.objects.filter(course_id__in=chunk).values_list("course_id", "term_id"))
    missing, extra = wanted - current, current - wanted
    through.objects.bulk_create([through(course_id=c, term_id=t) for c, t in missing], batch_size=BATCH)
    for course_id, term_id in extra:
        through.objects.filter(course_id=course_id, term_id=term_id).delete()
    return {course_sid[c] for c, _ in missing | extra}


def _set_person_links(records: dict[str, dict], objects: dict[str, object], model: type) -> set[str]:
    """Link each planned copy of a multi-school user in one batch (``records``, written as ``objects``)
    to its main record (``same_person_as``, issue 14); return the sourcedIds whose link changed.
    Links are only ever set here, never removed. A main record is planned before its copies, so
    one in an earlier batch is already in the database.

    The main record is the planned one or, for an import of one school, the one already in the
    database; when it is itself linked, the copy is linked to *its* main record (links are one level deep).
    A main record not found leaves the copy unlinked (its email then makes both duplicates until linked).
    """
    wanted = {sid: values["_same_person_as"] for sid, values in records.items() if values.get("_same_person_as")}
    if not wanted:
        return set()
    mains = {**_existing(model, [main for main in set(wanted.values()) if main not in objects]), **objects}
    changed = []
    for sid, main_sid in wanted.items():
        main = mains.get(main_sid)
        if main is None:
            continue
        main_pk = main.same_person_as_id or main.pk
        obj = objects[sid]
        if obj.same_person_as_id != main_pk and obj.pk != main_pk:
            obj.same_person_as_id = main_pk
            changed.append(obj)
    model.objects.bulk_update(changed, ["same_person_as"], batch_size=500)
    return {obj.sourced_id for obj in changed}


def _set_active_years(plan: ImportPlan, objects: dict[type, dict[str, object]]) -> None:
    """Give each imported school without an active year the imported year that contains today, else the latest."""
    today = timezone.localdate()
    years_by_school: dict[int, list] = {}
    for sid in plan.records[m.AcademicYear]:
        year = objects[m.AcademicYear][sid]
        years_by_school.setdefault(year.school_id, []).append(year)
    for sid in plan.records[m.School]:
        school = objects[m.School][sid]
        years = years_by_school.get(school.pk)
        if school.active_year_id is None and years:
            current = [y for y in years if y.start_date <= today <= y.end_date]
            school.active_year = current[0] if current else max(years, key=lambda y: (y.end_date, y.sourced_id))
            m.School.objects.filter(pk=school.pk).update(active_year=school.active_year)


def write_plan(plan: ImportPlan) -> ImportResult:
    """Upsert every row of ``plan`` in dependency order, one batch at a time; call inside a transaction.

    Keeps the rows (and sourcedId → pk) of the small models for the models that follow; of
    :data:`LARGE_MODELS` only counts.
    """
    result = ImportResult(skipped=dict(plan.skipped))
    pks: dict[type, dict[str, int]] = {}
    objects: dict[type, dict[str, object]] = {}
    for model in MODEL_ORDER:
        counts = ModelCounts()
        created_all: set[str] = set()
        updated_all: set[str] = set()
        kept = objects[model] = {}
        pks[model] = {}
        for records in _batches(plan.records[model]):
            created, updated, written = _upsert(model, records, pks)
            if model in (m.Student, m.Teacher):
                updated |= _set_person_links(records, written, model) - created
            counts.created += len(created)
            counts.updated += len(updated)
            if model not in LARGE_MODELS:
                created_all |= created
                updated_all |= updated
                kept.update(written)
                pks[model].update((sid, obj.pk) for sid, obj in written.items())
        if model is m.Course:
            counts.updated += len(_set_course_terms(plan, pks) - created_all - updated_all)
        counts.unchanged = len(plan.records[model]) - counts.created - counts.updated
        result.counts[str(model._meta.verbose_name_plural)] = counts
    _set_active_years(plan, objects)
    result.school_ids = {obj.pk for obj in objects[m.School].values()}
    school_groups_changed_notify(
        sender=m.Course,
        school_ids=result.school_ids | {obj.school_id for model in (m.Course, m.SchoolClass) for obj in objects[model].values()},
    )
    return result


def _independent(plan_problems: list[ImportProblem], read_problems: list[ImportProblem], bundle) -> list[ImportProblem]:
    """The plan's problems that are not consequences of a row already reported while reading:
    not on a reported line, and naming no sourcedId of a row left out (``bundle.rejected_ids``)."""
    reported = {(p.file, p.line) for p in read_problems}
    rejected = bundle.rejected_ids
    return [
        p
        for p in plan_problems
        if (p.file, p.line) not in reported and not rejected.intersection(re.findall(r"[^\s',]+", p.reason))
    ]


def import_oneroster_csv(path, *, school_code: str | None = None) -> ImportResult:
    """Import the OneRoster 1.1 CSV bundle at ``path`` (folder or .zip) in one transaction.

    Raises :class:`~myschool.oneroster_csv.bundle.BundleError` listing every problem (file,
    line, reason); in that case nothing at all is written. When every file could be read, the
    rows that had no problem are also planned, so reference and cross-file problems come in the
    same run (:func:`_independent` leaves out those caused by a row already reported).
    """
    bundle, read_problems = read_bundle_checked(path)
    try:
        result = _import(bundle, read_problems, school_code)
    finally:
        bundle.close()
    school_tables_analyze()
    return result


def _import(bundle, read_problems: list[ImportProblem], school_code: str | None) -> ImportResult:
    if read_problems and not bundle.complete:
        raise BundleError(read_problems)
    try:
        with transaction.atomic():
            try:
                plan = plan_import(bundle, school_code=school_code)
            except BundleError as exc:
                raise BundleError(sorted([*read_problems, *_independent(exc.problems, read_problems, bundle)])) from None
            if read_problems:
                raise BundleError(sorted(read_problems))
            problems = check_against_database(plan)
            if problems:
                raise BundleError(sorted(problems))
            with rows_untracked():  # bulk writes: every school of the plan is reported whole
                result = write_plan(plan)
            school_data_changed_notify(sender=m.School, school_ids=result.school_ids)
            return result
    except IntegrityError as exc:
        raise BundleError([ImportProblem("(database)", 0, f"the database refused the import: {exc}")]) from exc

