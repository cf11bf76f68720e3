"""A publication's changes in MySchool words, for the preview of tonight and the confirmation pages.

The publication counts and labels OneRoster objects (``class``, ``academicSession``, enrollments
as ``student <sourcedId> in <sourcedId>``). School staff think in MySchool's terms, so kinds get
MySchool names and the sourcedIds in example labels are replaced by the names of the MySchool
rows (or, for rows already gone, of the published objects) that carry them.
"""

from __future__ import annotations

import re

from myschool.models import Course, SchoolClass, Student, Subject, Teacher

from ..models import Kind, PublishedObject
from ..publication.collect import KIND_ORDER

KIND_WORDS = {
    Kind.ORG: ("school", "schools"),
    Kind.ACADEMIC_SESSION: ("year or term", "years and terms"),
    Kind.COURSE: ("subject", "subjects"),
    Kind.CLASS: ("course or class", "courses and classes"),
    Kind.USER: ("student or teacher", "students and teachers"),
    Kind.ENROLLMENT: ("membership", "memberships (who is in which course or class)"),
    Kind.DEMOGRAPHICS: ("demographics record", "demographics"),
}
CHANGE_WORDS = {"created": "added to Microsoft", "updated": "changed", "deleted": "removed from Microsoft"}
ENROLLMENT = re.compile(r"^(?P<role>\w+) (?P<user>\S+) in (?P<cls>\S+) \((?P<id>[^)]*)\)$")
LABEL = re.compile(r"^(?P<name>.*) \((?P<id>[^)]*)\)$")


def _names(ids: set[str]) -> dict[str, str]:
    """sourcedId → "class Art 10A" / "course Algebra" / "Ann Lee" / "subject Art", for the ids found."""
    names: dict[str, str] = {}
    for model, prefix in ((SchoolClass, "class "), (Course, "course "), (Subject, "subject ")):
        names.update({sid: f"{prefix}{name}" for sid, name in model.objects.filter(sourced_id__in=ids).values_list("sourced_id", "name")})
    for model in (Student, Teacher):
        for person in model.objects.filter(sourced_id__in=ids).only("sourced_id", "given_name", "family_name"):
            names[person.sourced_id] = f"{person.given_name} {person.family_name}"
    missing = ids - names.keys()
    for sid, kind, payload in PublishedObject.objects.filter(sourced_id__in=missing).values_list("sourced_id", "kind", "payload"):
        if kind == Kind.USER:
            names[sid] = f"{payload.get('givenName', '')} {payload.get('familyName', '')}".strip()
        elif payload.get("title"):
            names[sid] = f"{'class' if kind == Kind.CLASS else 'subject'} {payload['title']}"
    return names


def changes_in_words(changes: dict) -> list[dict]:
    """``[{"kind": "courses and classes", "created": n, "updated": n, "deleted": n, "unchanged": n,
    "examples": [("removed from Microsoft", ["class Art 10A", …]), …]}]`` in publication order.

    ``changes`` maps kind → an object with ``created``/``updated``/``deleted``/``unchanged`` counts
    and ``examples`` (change → labels), as :class:`lis.publication.service.KindChanges`.
    """
    ids: set[str] = set()
    for kind in changes:
        for labels in changes[kind].examples.values():
            for label in labels:
                if match := ENROLLMENT.match(label):
                    ids.update((match["user"], match["cls"]))
                elif match := LABEL.match(label):
                    ids.add(match["id"])
    names = _names(ids)
    rows = []
    for kind in KIND_ORDER:
        if kind not in changes:
            continue
        kind_changes = changes[kind]
        examples = []
        for change, labels in kind_changes.examples.items():
            if labels:
                examples.append((CHANGE_WORDS.get(change, change), [_label(kind, label, names) for label in labels]))
        rows.append(
            {
                "kind": KIND_WORDS.get(kind, (kind, kind))[1],
                **{change: getattr(kind_changes, change) for change in ("created", "updated", "deleted", "unchanged")},
                "examples": examples,
            }
        )
    return rows


def _label(kind: str, label: str, names: dict[str, str]) -> str:
    if kind == Kind.ENROLLMENT and (match := ENROLLMENT.match(label)):
        return f"{match['role']} {names.get(match['user'], 'someone no longer in MySchool')} in {names.get(match['cls'], 'a group no longer in MySchool')}"
    if match := LABEL.match(label):
        return names.get(match["id"], match["name"])
    return label


def summary_lines(changes: dict) -> list[str]:
    """One sentence per kind that changes: ``courses and classes: 2 added to Microsoft, 1 removed from Microsoft``."""
    lines = []
    for row in changes_in_words(changes):
        parts = [f"{row[change]} {CHANGE_WORDS[change]}" for change in ("created", "updated", "deleted") if row[change]]
        if parts:
            lines.append(f"{row['kind'].capitalize()}: {', '.join(parts)}.")
    return lines or ["Nothing would change in Microsoft."]
