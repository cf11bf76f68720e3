"""``manage.py sds_check``: run SDS's full, delta and classic pulls against a deployment and report.

A thin wrapper around :func:`oneroster_api.sds_check.run_check`; prints one line per endpoint
(requests, records, slowest answer, failures) and failure examples, and exits 1 on any failure.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from oneroster_api.sds_check import CheckConfig, run_check
from oneroster_api.sds_check.rules import parse_timestamp


def _since(value: str) -> dt.datetime:
    moment = parse_timestamp(value)
    if moment is None:
        raise CommandError(f"--since must look like 2026-01-01T00:00:00.000Z, not {value!r}.")
    return moment


class Command(BaseCommand):
    help = "Check a OneRoster 1.1 deployment the way Microsoft School Data Sync pulls and validates it."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="…/ims/oneroster/v1p1")
        parser.add_argument("--token-url", required=True, help="the OAuth 2.0 token endpoint")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--scope", default="", help="space-separated scopes to ask for (default: the client's)")
        parser.add_argument("--page-size", type=int, default=5000, help="limit= of every paged pull (SDS: 5000)")
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds a response may take (SDS: 30)")
        parser.add_argument("--since", type=_since, help="delta cutoff, YYYY-MM-DDTHH:MM:SS.sssZ (default: 1 h ago)")
        parser.add_argument("--examples", type=int, default=5, help="failure examples printed per endpoint")

    def handle(self, *args, **options):
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1.")
        config = CheckConfig(
            base_url=options["base_url"],
            token_url=options["token_url"],
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            scope=options["scope"],
            page_size=options["page_size"],
            timeout=options["timeout"],
            since=options["since"],
        )
        report = run_check(config)
        for line in report.lines(examples=options["examples"]):
            self.stdout.write(line)
        if not report.passed:
            raise CommandError(f"SDS readiness check failed: {report.failure_count} failure(s).")
