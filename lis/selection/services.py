"""Writes of the sync selection. Every change of a flag or a school switch is recorded (who, when, old → new)."""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.db.models import F, Model, QuerySet

from myschool.models import School
from myschool.signals import school_data_changed_notify

from ..models import SchoolSyncSettings, SelectionChange
from .selectors import GROUP_FIELDS, active_year_selections

# The SchoolSyncSettings fields whose changes are recorded.
SETTINGS_FIELDS = ("should_sync", "users_to_publish", "share_demographics")


def _shown(value) -> str:
    """How a recorded old or new value reads in the history."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def selection_target(group) -> str:
    """How a course or class is named in the history: ``"course Algebra 1 (ALG1)"``, ``"class 9A"``."""
    prefix = "course" if group._meta.model_name == "course" else "class"
    return f"{prefix} {group.name} ({group.code})" if group.code else f"{prefix} {group.name}"


@transaction.atomic
def selections_sync(*, model: type[Model], school_ids: Collection[int] | None = None) -> int:
    """Create the missing ``model`` rows (``sync`` off) for the active-year groups of the given schools.

    ``model`` is CourseSelection or ClassSelection; ``school_ids`` None means every school.
    One query finds the missing groups, one bulk insert (skipping rows a concurrent request just
    created) adds them. Rows of past years are left alone. Returns how many rows were created.
    """
    field = GROUP_FIELDS[model]
    groups = model._meta.get_field(field).related_model.objects.filter(
        year=F("school__active_year"), sync_selection__isnull=True
    )
    if school_ids is not None:
        groups = groups.filter(school_id__in=school_ids)
    missing = list(groups.values_list("pk", flat=True))
    if missing:
        model.objects.bulk_create([model(**{f"{field}_id": pk}) for pk in missing], ignore_conflicts=True)
    return len(missing)


def selections_sync_all(*, school_ids: Collection[int] | None = None) -> dict[str, int]:
    """:func:`selections_sync` for LIS Courses and LIS Classes alike; returns rows created per model label.

    Called where groups are created or the active year changes (through
    :data:`myschool.signals.school_groups_changed`) and by the nightly task, never by a page view.
    """
    return {model._meta.label_lower: selections_sync(model=model, school_ids=school_ids) for model in GROUP_FIELDS}


@transaction.atomic
def selections_set_sync(*, selections: QuerySet, sync: bool, user) -> int:
    """Set ``sync`` on every row of ``selections`` and record one SelectionChange per row that changed.

    ``selections`` is a CourseSelection or ClassSelection queryset the caller has already scoped
    to what ``user`` may change (the admin passes its own queryset); only active-year rows are
    touched. Rows already in the wanted state are left alone and not recorded. Runs a constant
    number of queries whatever the number of rows. Returns how many rows changed.
    """
    model = selections.model
    field = GROUP_FIELDS[model]
    pks = list(active_year_selections(model, selections).values_list("pk", flat=True))
    changing = list(
        model.objects.select_for_update(of=("self",))
        .filter(pk__in=pks)
        .exclude(sync=sync)
        .select_related(field)
        .order_by("pk")
    )
    if not changing:
        return 0
    model.objects.filter(pk__in=[row.pk for row in changing]).update(sync=sync)
    # QuerySet.update sends no post_save: tell the incremental publication (lis.publication.changes).
    school_data_changed_notify(
        sender=model, school_ids={getattr(row, field).school_id for row in changing}, pks=[row.pk for row in changing]
    )
    SelectionChange.objects.bulk_create(
        SelectionChange(
            school_id=getattr(row, field).school_id,
            changed_by=user,
            target=selection_target(getattr(row, field)),
            field="sync",
            old_value=_shown(row.sync),
            new_value=_shown(sync),
        )
        for row in changing
    )
    return len(changing)


@transaction.atomic
def school_sync_settings_update(*, school: School, user, **values) -> tuple[SchoolSyncSettings, list[SelectionChange]]:
    """Change a school's sync settings and record each field that really changed.

    ``values`` may hold ``should_sync`` (bool), ``users_to_publish`` (a ``UsersToPublish`` value)
    and ``share_demographics`` (bool); anything else raises ``TypeError``. Missing settings are
    created with their defaults first. Raises ``ValidationError`` for an invalid value.
    Returns the settings and the recorded changes (empty when nothing changed).
    """
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown sync settings: {', '.join(sorted(unknown))}")
    settings, _ = SchoolSyncSettings.objects.select_for_update().get_or_create(school=school)
    changes = []
    for name, new in values.items():
        old = getattr(settings, name)
        if old == new:
            continue
        setattr(settings, name, new)
        field = SchoolSyncSettings._meta.get_field(name)
        changes.append(
            SelectionChange(
                school=school,
                changed_by=user,
                target="school settings",
                field=str(field.verbose_name),
                old_value=_shown(dict(field.flatchoices).get(old, old) if field.choices else old),
                new_value=_shown(dict(field.flatchoices).get(new, new) if field.choices else new),
            )
        )
    if changes:
        settings.full_clean()
        settings.save()
        SelectionChange.objects.bulk_create(changes)
    return settings, changes
