"""``manage.py demo``: README's first command — the whole product on real data, then serving.

1. imports the OneRoster CSV bundle ``ROSTER_DATA`` (default: the contoso-25 sample in
   ``myschool/sample_data``) and
   builds the generated demo school (``seed_demo``) once;
2. creates a support login and a granted school-administrator login (new random passwords
   each run), grants both LIS features, switches every school on and ticks every class and course;
3. creates the sample integration (its Microsoft domains are the domains of the loaded data)
   and walks it to *accepted by Microsoft*, publishes every school, and issues (or, on a later
   run, rotates) its OAuth credentials;
4. serves on ``127.0.0.1:$PORT`` (default 8000) with the server's request log in
   ``var/demo-server.log`` (so it never interleaves with the report), prints the connection lines
   and the handoff link, runs ``sds_check`` against itself, and keeps serving until interrupted
   (``--check-only`` exits with ``sds_check``'s status instead; the end-to-end test uses it).

Every step says what it does. Running it again is safe: imports update by sourcedId, the demo
school is built once, the integration is reused and its credentials rotated.
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

from lis.domains import microsoft_domains_register
from lis.integrations.services import (
    IssuedCredentials,
    credentials_issue,
    credentials_rotate,
    integration_accept,
    integration_map_features,
    integration_request,
)
from lis.models import (
    ClassSelection,
    CourseSelection,
    Feature,
    FeatureGrant,
    Integration,
    IntegrationStatus,
)
from lis.oneroster import BASE_PATH
from lis.publication import publish_school
from lis.selection.services import school_sync_settings_update, selections_set_sync, selections_sync
from myschool.demo import demo_school_create
from myschool.emails.selectors import email_domains
from myschool.models import School, SchoolStaff
from myschool.oneroster_csv import BundleError, import_oneroster_csv
from myschool.roles import SCHOOL_ADMINISTRATORS_GROUP, SUPPORT_GROUP

DEMO_SCHOOL_CODE = "DEMO"
DEMO_TENANT_ID = "6d796d73-6368-4f6f-a16c-64656d6f0001"  # a fixed, obviously fictitious GUID
LIS_GROUP = "LIS coordinators"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the whole flow on sample data (import, tick, publish, credentials), serve and check it."

    def add_arguments(self, parser):
        parser.add_argument("--check-only", action="store_true", help="Exit after sds_check, with its exit status.")

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))
        self.stdout.flush()

    def handle(self, *args, check_only: bool, **options):
        roster = Path(os.environ.get("ROSTER_DATA") or settings.SAMPLE_ROSTER)
        port = int(os.environ.get("PORT") or 8000)
        origin = f"http://127.0.0.1:{port}"
        if not os.environ.get("PUBLIC_BASE_URL"):
            # Links in emails and on the handoff page point at this server, whatever the port.
            settings.PUBLIC_BASE_URL = os.environ["PUBLIC_BASE_URL"] = origin

        schools = self.load(roster)
        support, logins = self.logins(schools)
        self.tick_everything(schools, support)
        integration = self.integration(schools, support)
        self.publish(schools)
        credentials = self.credentials(integration, support)

        server = self.serve(port)
        # A `kill` (SIGTERM) must stop the server too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            self.stdout.write("")
            self.stdout.write(f"OneRoster base URL: {origin}{BASE_PATH}")
            self.stdout.write(f"Token URL: {origin}/oauth/token/")
            self.stdout.write(f"Client ID: {credentials.client_id}")
            self.stdout.write(f"Client secret: {credentials.client_secret}")
            self.stdout.write("")
            self.stdout.write(f"Credential handoff page (what the school's key contact gets by email): {credentials.link}")
            self.stdout.write(
                "  Open it in a browser, press 'Show the connection details', then 'I have entered these in SDS' "
                "to make the integration active."
            )
            self.stdout.write(f"Admin: {origin}/admin/")
            for role, (username, password) in logins.items():
                self.stdout.write(f"  {role}: {username} / {password}")
            self.stdout.write("")
            status = self.sds_check(origin, credentials)
            if check_only:
                if status:
                    raise CommandError(f"sds_check failed (exit status {status}).")
                return
            self.step(f"Serving on {origin}/ until Ctrl-C")
            server.wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping.")
        finally:
            if server.poll() is None:
                server.terminate()  # SIGTERM: SIGINT may be ignored when started in the background
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()

    # --- the steps ---------------------------------------------------------------------------

    def load(self, roster: Path) -> list[School]:
        self.step(f"Importing the OneRoster CSV bundle {roster}")
        if not roster.exists():
            raise CommandError(
                f"There is no OneRoster CSV bundle at {roster}. Set ROSTER_DATA=/path/to/bundle (a folder or .zip "
                f"with manifest.csv), or unset it to use the sample in {settings.SAMPLE_ROSTER}."
            )
        try:
            result = import_oneroster_csv(roster)
        except BundleError as exc:
            raise CommandError(
                f"{roster} could not be imported (set ROSTER_DATA=… to demo another bundle):\n{exc.summary()}"
            ) from None
        for line in result.lines():
            self.stdout.write(f"    {line}")
        if School.objects.filter(code=DEMO_SCHOOL_CODE).exists():
            self.step(f"The generated demo school {DEMO_SCHOOL_CODE} exists already")
        else:
            self.step(f"Building the generated demo school {DEMO_SCHOOL_CODE} (seed_demo: 1,200 students, 90 teachers)")
            summary = demo_school_create(students=1200, teachers=90, seed=1, school_code=DEMO_SCHOOL_CODE)
            self.stdout.write(f"    {summary.total_rows:,} rows; {len(summary.email_problems)} students with deliberately bad emails")
        return list(School.objects.order_by("code"))

    @transaction.atomic
    def logins(self, schools: list[School]) -> tuple[object, dict[str, tuple[str, str]]]:
        self.step("Creating the demo logins and granting both LIS features")
        lis_group, _ = Group.objects.get_or_create(name=LIS_GROUP)
        support, support_password = self.demo_user("support", groups=[SUPPORT_GROUP])
        admin, admin_password = self.demo_user("schooladmin", groups=[SCHOOL_ADMINISTRATORS_GROUP, LIS_GROUP])
        demo_school = next(s for s in schools if s.code == DEMO_SCHOOL_CODE)
        SchoolStaff.objects.update_or_create(user=admin, defaults={"school": demo_school})
        for school in schools:
            for feature in Feature:
                FeatureGrant.objects.get_or_create(
                    feature=feature, school=school, group=lis_group, defaults={"granted_by": support}
                )
        self.stdout.write(f"    support: every school; schooladmin: {demo_school.name}, in the group {LIS_GROUP!r}")
        return support, {
            "support (sees every school)": ("support", support_password),
            f"school administrator of {demo_school.name} (LIS Courses and LIS Classes granted)": ("schooladmin", admin_password),
        }

    @staticmethod
    def demo_user(username: str, *, groups: list[str]):
        """Create or reset the staff user ``username`` in ``groups``; return it and its new random password."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@myschool.example"})
        user.is_staff = True
        user.set_password(password)
        user.save()
        user.groups.set(Group.objects.filter(name__in=groups))
        return user, password

    def tick_everything(self, schools: list[School], support) -> None:
        self.step("Switching every school on and ticking every class and course of the active year")
        for school in schools:
            school_sync_settings_update(school=school, user=support, should_sync=True)  # recorded in the history
        for model in (CourseSelection, ClassSelection):
            selections_sync(model=model)
            ticked = selections_set_sync(selections=model.objects.all(), sync=True, user=support)
            self.stdout.write(f"    {model._meta.verbose_name_plural}: {ticked} newly ticked, {model.objects.filter(sync=True).count()} in all")

    def integration(self, schools: list[School], support) -> Integration:
        self.step("Registering the sample Microsoft tenant (integration) and its email domains")
        integration = Integration.objects.filter(tenant_id=DEMO_TENANT_ID).first()
        if integration is None:
            integration = integration_request(
                name="Sample tenant (demo)",
                tenant_id=DEMO_TENANT_ID,
                schools=schools,
                key_contact_name="Kim Key-Contact",
                key_contact_email="key.contact@myschool-demo.example",
                actor=support,
            )
        else:
            integration.schools.add(*schools)
        domains = [email_domains(school)[0][0] for school in schools if email_domains(school)]
        microsoft_domains_register(integration=integration, domains=domains)
        if integration.status == IntegrationStatus.REQUESTED:
            integration = integration_map_features(integration=integration, actor=support)
        if integration.status == IntegrationStatus.FEATURES_MAPPED:
            integration = integration_accept(integration=integration, actor=support)
        self.stdout.write(f"    {integration.name}: tenant {integration.tenant_id}, domains {', '.join(sorted(set(domains)))}")
        return integration

    def publish(self, schools: list[School]) -> None:
        self.step("Publishing every school (the nightly job, run now)")
        for school in schools:
            result = publish_school(school, allow_mass_deletion=True)  # the demo's own data: no guard
            counts = result.counts()
            active = ", ".join(f"{kind} {c['created'] + c['updated'] + c['unchanged']}" for kind, c in counts.items() if any(c.values()))
            changed = sum(c["created"] + c["updated"] + c["deleted"] for c in counts.values())
            withheld = sum((result.run.counts.get("withheld") or {}).values())
            self.stdout.write(
                f"    {school.code}: {result.status}; published now: {active or 'nothing'} "
                f"({changed} changed by this run; {withheld} users withheld for email problems)"
            )

    def credentials(self, integration: Integration, support) -> IssuedCredentials:
        reason = "Demo: sample data with deliberately bad emails; credentials printed locally."
        if integration.status == IntegrationStatus.ACCEPTED:
            self.step("Issuing OAuth credentials (the key contact's handoff email is printed by the console mail backend)")
            return credentials_issue(integration=integration, actor=support, reason=reason)
        self.step(
            "Rotating the OAuth credentials: a new client; earlier ones keep working until one is confirmed "
            "on the handoff page (secrets cannot be shown again)"
        )
        return credentials_rotate(integration=integration, actor=support, reason=reason)

    def serve(self, port: int) -> subprocess.Popen:
        log_path = Path(settings.BASE_DIR) / "var" / "demo-server.log"
        log_path.parent.mkdir(exist_ok=True)
        self.step(f"Starting the server on http://127.0.0.1:{port}/ (its request log: {log_path})")
        with log_path.open("a") as log:  # the child keeps its own copy of the descriptor
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}/admin/login/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(
                    f"The server exited with code {server.returncode}; is port {port} in use? Set PORT. "
                    f"Its log: {log_path}"
                )
            try:
                urllib.request.urlopen(url, timeout=2)
                return server
            except OSError:
                time.sleep(0.3)
        server.kill()
        raise CommandError(f"The server did not answer at {url} within 60 s.")

    def sds_check(self, origin: str, credentials: IssuedCredentials) -> int:
        self.step("Running sds_check against the server (what Microsoft SDS requests and checks)")
        return subprocess.call(
            [
                sys.executable, "manage.py", "sds_check",
                "--base-url", f"{origin}{BASE_PATH}",
                "--token-url", f"{origin}/oauth/token/",
                "--client-id", credentials.client_id,
                "--client-secret", credentials.client_secret,
            ],
            cwd=settings.BASE_DIR,
        )
