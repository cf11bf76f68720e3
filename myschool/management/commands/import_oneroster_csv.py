"""``manage.py import_oneroster_csv PATH [--school-code CODE]``: a thin wrapper around the importer."""

from django.core.management.base import BaseCommand, CommandError

from myschool.oneroster_csv import BundleError, import_oneroster_csv


class Command(BaseCommand):
    help = "Import a OneRoster 1.1 CSV bundle (a folder or a .zip with manifest.csv) into MySchool."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Folder or .zip holding manifest.csv and the OneRoster CSV files.")
        parser.add_argument("--school-code", help="Import only the school whose org identifier is CODE.")

    def handle(self, *args, path: str, school_code: str | None, **options):
        try:
            result = import_oneroster_csv(path, school_code=school_code)
        except BundleError as exc:
            raise CommandError(f"Nothing was imported; {len(exc.problems)} problem(s):\n{exc.summary()}") from None
        for line in result.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Imported {path}."))
