"""``manage.py seed_demo``: build a deterministic demo school (a thin wrapper of ``demo_school_create``)."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from myschool.demo import DEFAULT_SCHOOL_NAME, EmailProblemKind, demo_school_create


class Command(BaseCommand):
    help = "Build a realistic demo school: students, teachers, classes, courses, memberships. Same seed, same school."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=1200, help="Number of students (default 1200).")
        parser.add_argument("--teachers", type=int, default=90, help="Number of teachers (default 90).")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed; the same seed builds the same school (default 1)."
        )
        parser.add_argument("--school-code", default="DEMO", help="Code of the demo school (default DEMO).")
        parser.add_argument(
            "--school-name",
            default=DEFAULT_SCHOOL_NAME,
            help=f"Name of the demo school (default {DEFAULT_SCHOOL_NAME!r}).",
        )
        parser.add_argument("--replace", action="store_true", help="Delete an existing school with this code first.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            summary = demo_school_create(
                students=options["students"],
                teachers=options["teachers"],
                seed=options["seed"],
                school_code=options["school_code"],
                school_name=options["school_name"],
                replace=options["replace"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(f"Built {summary.school} with seed {summary.seed} in {seconds:.1f} s:")
        for label, count in summary.counts.items():
            self.stdout.write(f"  {label:<28} {count:>9,}")
        self.stdout.write(f"  {'total':<28} {summary.total_rows:>9,}")
        kinds = ", ".join(f"{len(summary.problem_student_numbers(kind))} {kind}" for kind in EmailProblemKind)
        self.stdout.write(f"Students with deliberately bad emails: {kinds} (-v 2 lists them).")
        if options["verbosity"] >= 2:
            for problem in summary.email_problems:
                self.stdout.write(f"  {problem.kind:<15} {problem.student_number}  {problem.email or '(empty)'}")
        self.stdout.write(self.style.SUCCESS("Done."))
