"""``manage.py demo``: README's first command. Loads real data, prints logins and serves.

Each step prints what it does. It is safe to run again: imports update by sourcedId, the demo
school is built once, and the demo users get fresh passwords.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from myschool.oneroster_csv import BundleError, import_oneroster_csv
from myschool.roles import SUPPORT_GROUP



class Command(BaseCommand):
    help = "Import the sample roster, create demo logins and serve on 127.0.0.1 until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, print it, and exit.")

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def handle(self, *args, no_serve: bool, **options):
        roster = Path(os.environ.get("ROSTER_DATA") or settings.SAMPLE_ROSTER)
        port = int(os.environ.get("PORT") or 8000)

        self.step(f"Importing the OneRoster CSV bundle {roster}")
        try:
            result = import_oneroster_csv(roster)
        except BundleError as exc:
            raise CommandError(f"{roster} could not be imported:\n{exc.summary()}") from None
        for line in result.lines():
            self.stdout.write(f"    {line}")

        self.step("Creating the demo logins")
        logins = {"support": self.demo_user("support", groups=[SUPPORT_GROUP])}

        base = f"http://127.0.0.1:{port}"
        self.stdout.write("")
        self.stdout.write(f"Admin: {base}/admin/")
        for username, password in logins.items():
            self.stdout.write(f"Login ({username}): {username} / {password}")
        if no_serve:
            return
        self.serve(port)

    @transaction.atomic
    def demo_user(self, username: str, *, groups: list[str]) -> str:
        """Create or reset the staff user ``username`` in ``groups``; return its new random password."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@myschool.example"})
        user.is_staff = True
        user.set_password(password)
        user.save()
        user.groups.set(Group.objects.filter(name__in=groups))
        return password

    def serve(self, port: int) -> None:
        """Run Django's server on 127.0.0.1:``port`` in a child process until Ctrl-C."""
        self.step(f"Serving on http://127.0.0.1:{port}/ (Ctrl-C stops)")
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=settings.BASE_DIR)
        try:
            self.wait_until_up(f"http://127.0.0.1:{port}/admin/login/", server)
            server.wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping.")
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=10)

    @staticmethod
    def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"The server exited with code {server.returncode}; is the port in use?")
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"The server did not answer at {url} within {timeout:.0f} s.")

