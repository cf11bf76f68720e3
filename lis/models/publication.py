"""The published OneRoster records SDS reads, and the log of the runs that write them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from myschool.models import School
from myschool.synctime import sync_time


class Kind(models.TextChoices):
    """The OneRoster object kinds MySchool publishes (oneroster-1.1.md §3)."""

    ORG = "org", "org"
    ACADEMIC_SESSION = "academicSession", "academicSession"
    COURSE = "course", "course"
    CLASS = "class", "class"
    USER = "user", "user"
    ENROLLMENT = "enrollment", "enrollment"
    DEMOGRAPHICS = "demographics", "demographics"


class PublishedStatus(models.TextChoices):
    ACTIVE = "active", "active"
    TOBEDELETED = "tobedeleted", "tobedeleted"


class SingleReferences(models.Model):
    """The sourcedIds of an object's single references, as columns (see :class:`PublishedObject`)."""

    school_ref = models.CharField(max_length=255, blank=True, null=True)
    course_ref = models.CharField(max_length=255, blank=True, null=True)
    class_ref = models.CharField(max_length=255, blank=True, null=True)
    user_ref = models.CharField(max_length=255, blank=True, null=True)
    parent_ref = models.CharField(max_length=255, blank=True, null=True)
    year_ref = models.CharField(max_length=255, blank=True, null=True)

    class Meta:
        abstract = True


REF_COLUMNS = tuple(field.name for field in SingleReferences._meta.fields)


class PublishedObject(SingleReferences):
    """One OneRoster object as SDS sees it: what the API serves, never computed at request time.

    ``payload`` is the object without ``sourcedId``, ``status`` and ``dateLastModified`` (those
    are columns); its GUIDRefs hold ``href`` *paths* (``/ims/oneroster/v1p1/orgs/x``) that the API
    makes absolute. ``content_hash`` is the SHA-256 of the canonical payload JSON; only a
    different hash (or a status change) gives the object a new ``date_last_modified``.

    The ``*_ref`` columns copy the sourcedIds of the object's single references so the API can
    filter and nest without looking inside the JSON: ``school_ref`` (class/enrollment ``school``,
    course ``org``), ``course_ref`` (class ``course``), ``class_ref`` and ``user_ref`` (enrollment),
    ``parent_ref`` (org and academicSession ``parent``), ``year_ref`` (course ``schoolYear``).
    Lists of references (class ``terms``, user ``orgs``, ``agents``) are rows of
    :class:`PublishedReference`. ``subtype`` is the object's role or type (user and enrollment
    ``role``, org and academicSession ``type``, class ``classType``).

    ``tenant`` is 0 for the publication's own rows, which every tenant of ``school`` sees. A
    row with ``tenant`` = an integration's id is a *tenant tombstone*: a ``tobedeleted`` copy
    that only that integration sees, of a record it was served and that left its scope (its
    school was removed from the integration, its district is no longer named by any of the
    integration's schools). Copies have no ``school`` (so no school's scope reaches them), no
    reference rows, and age out with the normal retention (:mod:`lis.publication.tenants`).
    """

    kind = models.CharField(max_length=20, choices=Kind.choices)
    sourced_id = models.CharField("sourcedId", max_length=255)
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_objects",
        help_text="The school whose publication owns this object (empty for a district org).",
        db_index=False,  # published_school_kind (school, kind, status) serves every lookup by school
    )
    status = models.CharField(max_length=11, choices=PublishedStatus.choices, default=PublishedStatus.ACTIVE)
    date_last_modified = models.DateTimeField("dateLastModified")
    subtype = models.CharField(max_length=20, blank=True)
    payload = models.JSONField()
    content_hash = models.CharField(max_length=64)
    last_run = models.ForeignKey(
        "PublicationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The run that last created or changed this object.",
    )
    tenant = models.PositiveIntegerField(
        default=0, help_text="0: the publication's own row; else the integration this tenant tombstone is for."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "sourced_id", "tenant"], name="publishedobject_unique_per_tenant")
        ]
        indexes = [
            models.Index(fields=["kind", "status", "sourced_id"], name="published_kind_status_id"),
            models.Index(fields=["kind", "date_last_modified"], name="published_kind_modified"),
            models.Index(fields=["school", "kind", "status"], name="published_school_kind"),
            models.Index(fields=["kind", "subtype", "status"], name="published_kind_subtype"),
            # Only the rows that have the reference (a lookup always names one): most rows have none
            # of parent_ref and course_ref, and each index entry costs every row a publication inserts.
            *(
                models.Index(fields=["kind", ref], name=f"published_kind_{ref}", condition=models.Q(**{f"{ref}__isnull": False}))
                for ref in ("school_ref", "class_ref", "user_ref", "course_ref", "parent_ref")
            ),
            models.Index(fields=["tenant", "kind"], condition=models.Q(tenant__gt=0), name="published_tenant_copies"),
            # Every run purges its school's expired tombstones: only the tombstones, by age, so the
            # purge reads the expired ones instead of every tombstone of the retention period.
            models.Index(
                fields=["date_last_modified"], condition=models.Q(status="tobedeleted"), name="published_tombstone_age"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sourced_id} ({self.status})"


class PublishedReference(models.Model):
    """One element of a published object's list of references, e.g. a class's term or a user's org."""

    obj = models.ForeignKey(PublishedObject, on_delete=models.CASCADE, related_name="references")
    name = models.CharField(max_length=20, help_text="The payload field: terms, orgs, agents.")
    sourced_id = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["obj", "name", "sourced_id"], name="publishedreference_once")]
        indexes = [models.Index(fields=["name", "sourced_id"], name="publishedref_name_id")]

    def __str__(self) -> str:
        return f"{self.obj_id}.{self.name} → {self.sourced_id}"


class RunTrigger(models.TextChoices):
    NIGHTLY = "nightly", "Nightly schedule"
    SUPPORT = "support", "Support (publish now)"
    COMMAND = "command", "Management command"
    PERIODIC = "periodic", "Periodic (changes only)"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    HELD = "held", "Held for confirmation"
    ABANDONED = "abandoned", "Abandoned (its process died)"
    CONFIRMED = "confirmed", "Held, then confirmed by support"


class PublicationRunQuerySet(models.QuerySet):
    def started(self) -> "PublicationRunQuerySet":
        """Runs that have started (every status but queued), newest first by the model's ordering."""
        return self.exclude(status=RunStatus.QUEUED)


class PublicationRun(models.Model):
    """One publication of one school: who or what started it, when, what it changed, how it ended.

    ``counts`` maps kind → {"created", "updated", "deleted", "unchanged"} (ints). A *held* run
    wrote nothing: it would have tombstoned more than the allowed share of users or classes;
    ``hold_reason`` gives the numbers, and support's confirmation starts a run that may.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="publication_runs")
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices)
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True, help_text="When the run was asked for (queued or started).")
    finished_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(
        null=True, blank=True, help_text="The dateLastModified given to every object this run created or changed."
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    notes = models.CharField(
        max_length=300, blank=True,
        help_text="Full or incremental, and why (issue 19): e.g. 'incremental: 3 changes, 41 objects compared'.",
    )
    error = models.TextField(blank=True)
    hold_reason = models.TextField(blank=True)
    allow_mass_deletion = models.BooleanField(default=False, help_text="Confirmed by support after a held run.")
    confirms = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="confirmations",
        help_text="The held run this run was confirmed from.",
    )

    objects = PublicationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["school", "-started_at"], name="publicationrun_school_started")]

    def __str__(self) -> str:
        return f"{self.school} {self.get_trigger_display()} {sync_time(self.started_at)} {self.status}"


class StageOperation(models.TextChoices):
    CREATE = "create", "create"
    UPDATE = "update", "update"
    TOMBSTONE = "tombstone", "tombstone"


class PublicationStage(SingleReferences):
    """One write a running publication plans, applied to the store in the run's short final transaction.

    A run first computes its diff without holding a write lock and records it here in small batches
    (:mod:`lis.publication.stage`); its final transaction then applies every row of the run at once
    with set-based SQL, giving each written object the commit time as ``dateLastModified``. The rows
    are deleted when the run ends, however it ends (a dead run's by the next run).

    ``operation`` is *create* (``target`` empty), *update* or *tombstone* of the store row ``target``
    (a :class:`PublishedObject` pk). ``seen_modified`` is that row's ``date_last_modified`` when the
    diff read it: the apply writes the row only if it is unchanged, else the run starts over. The other
    columns are the object's new store columns (``school_pk``: the owning school's pk, empty for a
    district org); a tombstone needs none of them.
    """

    # No database constraint on the stage's run (nor on its references'): PostgreSQL would check every
    # staged row against the run at each stage commit (500,000 checks in a first publication at 50,000
    # students). Django still deletes the stage with its run; rows of a run gone are cleared as dead.
    run = models.ForeignKey(PublicationRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    operation = models.CharField(max_length=9, choices=StageOperation.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sourced_id = models.CharField(max_length=255)
    target = models.BigIntegerField(null=True, blank=True)
    seen_modified = models.DateTimeField(null=True, blank=True)
    school_pk = models.BigIntegerField(null=True, blank=True)
    subtype = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        # ``id`` last: the apply reads a run's creates in id order (= sourcedId order per kind) from
        # this index, without sorting every staged payload (a sort that spilled to disk at 50,000 students).
        indexes = [models.Index(fields=["run", "operation", "id"], name="publicationstage_run_op_id")]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.operation} {self.kind} {self.sourced_id}"


class PublicationStageReference(models.Model):
    """One element of a reference list (``terms``, ``orgs``, ``agents``) of an object a run creates or updates.

    Applied with the stage: it becomes a :class:`PublishedReference` of the store row
    (``kind``, ``obj_sourced_id``) once that row exists.
    """

    run = models.ForeignKey(PublicationRun, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    obj_sourced_id = models.CharField(max_length=255)
    name = models.CharField(max_length=20)
    sourced_id = models.CharField(max_length=255)

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.kind} {self.obj_sourced_id}.{self.name} → {self.sourced_id}"


class PublishedStoreVersion(models.Model):
    """The publication store's version: one row (``id`` 1) whose ``version`` changes with every write to the store.

    Database triggers set it (migration ``0009_pull_pages``), so no write can miss it: on
    PostgreSQL a statement-level trigger on ``lis_publishedobject`` and ``lis_publishedreference``
    (INSERT, UPDATE, DELETE, TRUNCATE) sets it to the next value of the sequence
    ``lis_store_version_seq`` in the writing transaction; on SQLite row-level triggers set it to a
    random 63-bit number. A reader that sees a version sees exactly the store committed with it,
    and a value is never reused for another state (a sequence never gives a number twice, even
    after a rollback; SQLite's random values are unique with odds of 2⁻⁶³ per pair). The API keys
    the count and page boundaries it keeps for a collection by this version
    (:mod:`oneroster_api.paging`). No row (a flushed test database) means "unknown": the API then
    counts and pages as if nothing were kept.
    """

    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"store version {self.version}"
