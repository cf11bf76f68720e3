"""``manage.py update_primary_emails FILE --school CODE [--dry-run]``: a thin wrapper of :mod:`myschool.emails.bulk`."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from myschool.emails import BulkFileError, EmailChangeRefused, bulk_apply, bulk_preview, decode_upload
from myschool.models import School


class Command(BaseCommand):
    help = (
        "Set primary emails from a CSV file (header: number or username, email, optional role). "
        "Prints the preview; applies it in one transaction unless --dry-run or any line is rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8).")
        parser.add_argument("--school", required=True, help="Code of the school whose people the file names.")
        parser.add_argument("--dry-run", action="store_true", help="Print the preview and change nothing.")
        parser.add_argument(
            "--user",
            help="Username recorded as the author; their permissions then decide the bulk limit (default: none, no limit).",
        )

    def handle(self, *args, file: Path, school: str, dry_run: bool, user: str | None, **options):
        found = School.objects.filter(code=school).first()
        if found is None:
            raise CommandError(f"No school has the code {school!r}.")
        author = None
        if user:
            author = get_user_model().objects.filter(username=user).first()
            if author is None:
                raise CommandError(f"No user is called {user!r}.")
        try:
            text = decode_upload(file.read_bytes())
            if dry_run:
                preview, batch = bulk_preview(school=found, text=text, user=author), None
            else:
                # Without --user the change is the server's own (no bulk limit); with it, that user's permissions apply.
                preview, batch = bulk_apply(school=found, text=text, user=author, note=file.name)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from None
        except BulkFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        except EmailChangeRefused as exc:
            raise CommandError(f"{file}: {exc}") from None
        for line in preview.lines():
            self.stdout.write(line)
        if preview.rejected:
            raise CommandError(f"{file}: {len(preview.rejected)} line(s) rejected; nothing was changed.")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        elif batch is None:
            if preview.limit_error:
                raise CommandError(preview.limit_error)
            self.stdout.write("Nothing to change.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Changed {len(preview.changes)} primary email(s) as batch #{batch.pk}.")
            )
