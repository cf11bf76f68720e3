"""``manage.py publish_roster [--school CODE | --all] [--dry-run] [--incremental]``: publish inline, with progress.

The runs are :func:`lis.publication.runs.school_publish_inline`'s; the command only chooses the
schools and prints each result.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from lis.publication.runs import InlineRun, school_publish_inline
from lis.publication.selectors import school_to_publish, schools_to_publish
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
        try:
            schools = [school_to_publish(code=school)] if school else list(schools_to_publish())
        except School.DoesNotExist:
            raise CommandError(f"No school has the code {school!r}.") from None
        failed = False
        for target in schools:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{'Dry run of' if dry_run else 'Publishing'} {target}"))
            with tqdm(unit=" records", disable=not self.stdout.isatty(), leave=False) as bar:
                run = school_publish_inline(
                    target, dry_run=dry_run, incremental=incremental,
                    progress=lambda kind, n: (bar.set_description(kind), bar.update(n)),
                )
            self.report(run, dry_run=dry_run)
            failed |= not run.ok
        if failed:
            raise CommandError("At least one publication failed or was held; see above.")

    def report(self, run: InlineRun, *, dry_run: bool) -> None:
        """Counts per kind (and, for a dry run, examples), then how the run ended."""
        if run.result is None:
            self.stderr.write(run.error)
            return
        result = run.result
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
            return
        self.stdout.write(self.style.SUCCESS("Dry run: nothing was written." if dry_run else f"Published ({result.status})."))
