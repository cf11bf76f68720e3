"""``manage.py publish_roster [--school CODE | --all] [--dry-run] [--incremental]``: publish inline, with progress."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from lis.models import RunTrigger
from lis.publication import PublicationInProgress, publish_school
from lis.selectors import schools_to_publish
from myschool.models import School


class Command(BaseCommand):
    help = "Publish schools' OneRoster records now (inline), or show what would change with --dry-run."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--school", metavar="CODE", help="The school code to publish.")
        which.add_argument("--all", action="store_true", help="Every school that syncs or still has published objects.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing.")
        parser.add_argument(
            "--incremental", action="store_true",
            help="Diff only what changed since the school's last run (full when that is unknown).",
        )

    def handle(self, *args, school: str | None, all: bool, dry_run: bool, incremental: bool = False, **options):
        self.incremental = incremental
        if school:
            try:
                schools = [School.objects.select_related("active_year", "group", "sync_settings").get(code=school)]
            except School.DoesNotExist:
                raise CommandError(f"No school has the code {school!r}.") from None
        else:
            schools = list(schools_to_publish())
        failed = False
        for target in schools:
            failed |= not self.publish(target, dry_run=dry_run)
        if failed:
            raise CommandError("At least one publication failed or was held; see above.")

    def publish(self, school: School, *, dry_run: bool) -> bool:
        self.stdout.write(self.style.MIGRATE_HEADING(f"{'Dry run of' if dry_run else 'Publishing'} {school}"))
        with tqdm(unit=" records", disable=not self.stdout.isatty(), leave=False) as bar:
            try:
                result = publish_school(
                    school, trigger=RunTrigger.COMMAND, dry_run=dry_run, incremental=self.incremental,
                    progress=lambda kind, n: (bar.set_description(kind), bar.update(n)),
                )
            except PublicationInProgress as exc:
                self.stderr.write(str(exc))
                return False
            except Exception as exc:  # the run is logged as failed; say so and carry on with other schools
                self.stderr.write(f"Failed: {type(exc).__name__}: {exc}")
                return False
        for kind, changes in result.changes.items():
            counts = changes.as_counts()
            self.stdout.write(
                f"  {kind:16} {counts['created']:>7} created {counts['updated']:>7} updated "
                f"{counts['deleted']:>7} deleted {counts['unchanged']:>7} unchanged"
            )
            if dry_run:
                for change, labels in changes.examples.items():
                    if labels:
                        self.stdout.write(f"      {change}: {'; '.join(labels)}")
        if result.run is not None and result.run.notes:
            self.stdout.write(f"  run: {result.run.notes}")
        if result.hold_reason:
            self.stdout.write(self.style.WARNING(("Would be held: " if dry_run else "Held: ") + result.hold_reason))
            return dry_run
        self.stdout.write(self.style.SUCCESS("Dry run: nothing was written." if dry_run else f"Published ({result.status})."))
        return True
