"""While a publication writes, the rest of the product keeps answering (both databases).

A real publication runs in a child process and stops in its diff (its writes there are short
transactions of one stage batch each; see lis.publication.stage). Meanwhile SDS asks for a token
and reads the API over real HTTP, support opens the admin, and a second run is refused as
designed, with a run logged.
When the database cannot answer in time, token and API answer JSON 503, never an HTML page.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import psycopg
import pytest
from django.db import connection

from lis.models import PublicationRun, RunStatus
from lis.publication import PublicationInProgress, publish_school
from tests import factories as f
from tests.lis import publication_process
from tests.lis.publication_fixtures import small_school
from tests.lis.sds import SDS
from tests.oneroster_api import published as p

pytestmark = pytest.mark.django_db(transaction=True)


def test_token_api_admin_and_a_second_run_during_a_publication(live_server, client):
    small = small_school()
    publish_school(small.school)
    sds = SDS(p.integration(small.school), url=live_server.url)
    assert sds.request_token().status == 200
    client.force_login(f.support_user(username="support"))
    f.StudentFactory(school=small.school)  # something for the next run to write

    child = publication_process.start(small.school.code, "user", 3)  # pauses in its diff ~3 s
    try:
        started = time.monotonic()
        orgs = sds.get("orgs")  # reads never wait for the writer
        admin = client.get("/admin/lis/publicationrun/")
        read_time = time.monotonic() - started
        with pytest.raises(PublicationInProgress):  # refused at once; logged once the database is free
            publish_school(small.school, trigger="support")
        token = sds.request_token()  # never waits for the child's whole run
        elapsed = time.monotonic() - started
    finally:
        child.wait(60)
    assert child.stdout.read().strip() == RunStatus.SUCCEEDED

    assert token.status == 200 and token.body["token_type"] == "Bearer"
    assert orgs.status == 200 and len(orgs.body["orgs"]) == 2  # the school and its district
    assert admin.status_code == 200
    assert read_time < 2.5
    assert elapsed < 20  # at most the child's remaining transaction, never a busy timeout
    refused = PublicationRun.objects.filter(trigger="support").get()
    assert refused.status == RunStatus.FAILED and refused.error == "Another publication of this school is running."


def hold_write_lock(seconds: float):
    """Hold, from another connection, the lock a token INSERT needs, for ``seconds``; returns the thread."""
    settings = connection.settings_dict
    ready = threading.Event()

    def hold():
        if connection.vendor == "postgresql":
            params = {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432}
            with psycopg.connect(dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"], **params) as other:
                other.execute("LOCK TABLE oauth2_provider_accesstoken IN EXCLUSIVE MODE")
                ready.set()
                time.sleep(seconds)
        else:
            import sqlite3

            other = sqlite3.connect(settings["NAME"], isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            ready.set()
            time.sleep(seconds)
            other.execute("ROLLBACK")
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(10)
    return thread


def test_a_database_too_busy_to_answer_gives_json_503_not_html(client):
    small = small_school()
    publish_school(small.school)
    sds = SDS(p.integration(small.school), client=client)
    assert sds.request_token().status == 200
    with connection.cursor() as cursor:  # this connection gives up after 0.2 s instead of the usual timeout
        cursor.execute("SET lock_timeout = '200ms'" if connection.vendor == "postgresql" else "PRAGMA busy_timeout = 200")
    holder = hold_write_lock(3)
    try:
        token = sds.request_token()
    finally:
        holder.join(10)
        connection.close()

    assert token.status == 503
    assert token.headers["Content-Type"] == "application/json" and token.headers["Retry-After"] == "30"
    assert token.body["imsx_codeMajor"] == "failure"
    assert token.body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "server_busy"
