"""``manage.py sync_readiness SCHOOL_CODE``: print a school's readiness report (a thin wrapper of :mod:`lis.readiness`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lis.readiness import school_readiness
from myschool.models import School


class Command(BaseCommand):
    help = (
        "Print the sync readiness report of a school: every problem that would make SDS create duplicate "
        "or broken users. Exits with status 2 when there are blocking problems."
    )

    def add_arguments(self, parser):
        parser.add_argument("school_code", help="The school's code.")

    def handle(self, *args, school_code: str, **options):
        school = School.objects.filter(code=school_code).first()
        if school is None:
            raise CommandError(f"No school has the code {school_code!r}.")
        report = school_readiness(school)
        for line in report.lines():
            self.stdout.write(line)
        if not report.is_ready:
            raise CommandError(f"{len(report.blocking)} blocking problem(s).", returncode=2)
        self.stdout.write(
            self.style.SUCCESS("Ready to sync." if not report.problems else "Ready to sync, with warnings.")
        )
