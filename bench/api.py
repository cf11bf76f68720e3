"""Benchmark the OneRoster API as SDS uses it: ``python bench/api.py [--students N] [--teachers N]``.

PostgreSQL only (``BENCH_DATABASE_URL=postgres://bench:bench@127.0.0.1:5432/bench_api``): the
figures are for production. Builds the generated school of ``bench/publish.py`` (default 50,000
students, 4,000 teachers) when the database has none and publishes it when it has no
publication — both once: later runs reuse them (``--republish`` empties the store and publishes
again, e.g. after a change to the order the publication writes in). Then ``VACUUM ANALYZE``s the
store, connects an integration and an OAuth client, starts gunicorn on 127.0.0.1 (``--workers``,
``--port``; its workers share their cache in Redis at ``--redis-url`` / ``BENCH_REDIS_URL`` when
one answers, as in production), gives the store a new version (as a publication does, so each
collection's count and page boundaries are read once during the pull, ``oneroster_api.paging``)
and measures over HTTP. The client counts each page's objects without parsing the
body (it shares the machine's cores with the server; each endpoint's first page is parsed and
checked), so the figures are the server's:

1. SDS's full pull: the five endpoints (``limit=5000``, ``filter=status='active'``), each paged
   by its own client thread as SDS does — pages, records, records/s, p50/p95/max page latency
   (and the deepest page's), total seconds, and the peak RSS of the server's workers (VmHWM) and
   of the client;
2. what PostgreSQL can stream: ``COPY (SELECT payload … ORDER BY sourced_id) TO STDOUT`` of the
   same rows, one connection — records, MB, seconds, and the ratio API/COPY (COPY seconds ÷ API
   seconds: 1.0 means the API serves as fast as PostgreSQL streams the payloads; goal ≥ 0.5).
   On a 2-core machine either figure moves by ±50% with whatever else runs, so ``--rounds N``
   (default 3) measures a full pull (after a new store version, as after a publication) and a
   COPY read alternately N times and gives each round's ratio and the ratio of the medians;
3. the same rows selected, JSON-decoded and re-encoded in Python (the older "raw" figure, kept
   for comparison: it is much slower than COPY) — seconds and the ratio API/Python;
4. a delta pull (``dateLastModified>`` the time before a publication of a 1% change, as in
   ``bench/publish.py``) — records and seconds.

:func:`serve` and :class:`Client` are shared with ``bench/load.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from common import BASE_DIR, bench_database_url, django_setup, peak_rss_mb, redis_answers

BASE_PATH = "/ims/oneroster/v1p1"
FULL_PULL = {  # endpoint → kind
    "academicSessions": "academicSession",
    "orgs": "org",
    "users": "user",
    "classes": "class",
    "enrollments": "enrollment",
}
SECRET = "bench-client-secret-0123456789"


# the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(database_url: str, *, workers: int, api_rate: str = "1000000/min", redis_url: str = "", port: int = 0):
    """gunicorn serving MySchool on ``127.0.0.1:<port>`` (a free one when 0) with ``database_url``; yields the origin.

    Production settings (debug off, no TLS redirect since it is loopback); the server's output goes
    to a temporary log file, named (with its count of error lines) on exit. With ``redis_url`` the
    workers share their cache (and so the per-client rate limits) there, as in production; without
    it each worker counts alone. Stops the server on exit.
    """
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_BEHIND_TLS_PROXY": "false",
        "ONEROSTER_API_RATE": api_rate,
        "LOG_LEVEL": "ERROR",
        "REDIS_URL": redis_url,
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "myschool.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--timeout", "120", "--log-level", "warning"]  # fmt: skip
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    origin = f"http://127.0.0.1:{port}"
    SERVERS[origin] = server.pid
    try:
        _wait_until_up(f"{origin}{BASE_PATH}/openapi.json", server)
        yield origin
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        errors = sum(1 for line in log if " ERROR " in line or "Traceback" in line)
        print(f"server log: {log.name} ({errors} error lines)")
        log.close()


SERVERS: dict[str, int] = {}  # origin → gunicorn master's pid, while :func:`serve` runs it


def server_peak_rss_mb(origin: str) -> tuple[float, float]:
    """(largest, sum of) the peak RSS (VmHWM, MB) of the gunicorn workers serving ``origin`` (Linux /proc)."""
    master = SERVERS[origin]
    peaks = []
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0), sum(peaks)


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {server.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer at {url} within {timeout:.0f} s")


# the client -----------------------------------------------------------------------------------


@dataclass
class Pull:
    """One paged pull: per-page latencies (s) in order, records, statuses seen."""

    endpoint: str
    latencies: list[float] = field(default_factory=list)
    records: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


class Client:
    """An SDS-like client: a bearer token from the token URL, then paged GETs (one session per thread)."""

    def __init__(self, origin: str, client_id: str, secret: str) -> None:
        import requests

        self.origin = origin
        self.local = threading.local()
        reply = requests.post(f"{origin}/oauth/token/", data={"grant_type": "client_credentials"},
                              auth=(client_id, secret), timeout=60)  # fmt: skip
        reply.raise_for_status()
        self.token = reply.json()["access_token"]

    def session(self):
        import requests

        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.local.session

    def pull(self, endpoint: str, filter_text: str, *, page_size: int = 5000, retry_429: bool = True) -> Pull:
        """Every page of ``endpoint`` with ``filter``, SDS style (offset += limit until X-Total-Count)."""
        import requests

        pull, offset, started = Pull(endpoint), 0, time.perf_counter()
        while True:
            params = {"filter": filter_text, "offset": str(offset), "limit": str(page_size)}
            page_started = time.perf_counter()
            try:
                response = self.session().get(f"{self.origin}{BASE_PATH}/{endpoint}", params=params, timeout=120)
            except requests.ConnectionError:  # a reset connection is retried, as SDS does; counted as status 0
                pull.statuses[0] = pull.statuses.get(0, 0) + 1
                if pull.statuses[0] > 3:
                    raise
                continue
            latency = time.perf_counter() - page_started  # the whole body is in; parsing it is ours
            pull.statuses[response.status_code] = pull.statuses.get(response.status_code, 0) + 1
            if response.status_code == 429 and retry_429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code != 200:
                break
            pull.latencies.append(latency)
            pull.records += page_records(response.content, check=offset == 0)
            offset += page_size
            if offset >= int(response.headers["X-Total-Count"]):
                break
        pull.seconds = time.perf_counter() - started
        return pull


OBJECT_START = b'{"sourcedId":'  # how every served object begins (a GUIDRef begins with "href")


def page_records(body: bytes, *, check: bool = False) -> int:
    """The number of objects in a collection page's ``body``, counted without parsing it.

    The client shares the server's two cores, so it must cost little: a JSON parse of every
    page (~2 MB for 5,000 enrollments) took CPU the server needed. With ``check`` the body is
    also parsed and the count compared (the bench does it on each endpoint's first page).
    """
    count = body.count(OBJECT_START)
    if check:
        parsed = json.loads(body)
        objects = parsed[next(iter(parsed))]
        if len(objects) != count or not all(next(iter(obj)) == "sourcedId" for obj in objects):
            raise AssertionError(f"page has {len(objects)} objects, counted {count}")
    return count


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) of ``values`` by the inclusive method; 0 for none."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


# setup ----------------------------------------------------------------------------------------


def dataset_ensure(school_code: str, students: int, teachers: int, prepare, *, republish: bool = False):
    """The bench school, built with ``prepare(students, teachers)`` when missing and published when
    it has no publication (or, with ``republish``, its store emptied and published again).

    The database is reused from run to run: building and publishing the 50,000-student school
    takes minutes. Statistics are refreshed before the first publication: right after the bulk
    insert PostgreSQL has none, and the publication's duplicate-email query then picks a nested
    loop over 50,000 × 4,000 people that runs for many minutes.
    """
    from django.db import connection

    from lis.models import PublicationRun, PublishedObject
    from lis.publication import publish_school, published_objects_delete
    from myschool.models import School

    school = School.objects.filter(code=school_code).first()
    if school is None:
        print(f"building {students:,} students, {teachers:,} teachers (once) …", flush=True)
        prepare(students, teachers)
        school = School.objects.get(code=school_code)
    if republish:  # as a first publication: the store emptied and compacted
        published_objects_delete(PublishedObject.objects.filter(school=school))
        PublicationRun.objects.filter(school=school).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM FULL lis_publishedobject")
                cursor.execute("VACUUM FULL lis_publishedreference")
    if not PublishedObject.objects.filter(school=school).exists():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print("publishing it (once) …", flush=True)
        started = time.perf_counter()
        publish_school(school)
        print(f"published in {time.perf_counter() - started:.1f} s", flush=True)
    store_analyze()
    return school


def store_analyze() -> None:
    """``VACUUM ANALYZE`` the publication store: fresh statistics and an all-visible map for index-only scans."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE lis_publishedobject")
            cursor.execute("VACUUM ANALYZE lis_publishedreference")


def store_version_new() -> None:
    """Give the store a new version, as a publication would (a write that changes no row still fires the
    store's triggers), so the pull measured pays what the first pull after a publication pays: each
    collection's count and page boundaries read once (``oneroster_api.paging``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE lis_publishedobject SET status = status WHERE false")


def credentials_create(school, name: str, count: int = 1) -> list[str]:
    """``count`` fresh OAuth clients (secret :data:`SECRET`) of an integration ``name`` for ``school``."""
    import uuid

    from oauth2_provider.models import Application

    from lis.models import Integration, IntegrationClient

    integration, _ = Integration.objects.get_or_create(
        name=name,
        defaults={"tenant_id": str(uuid.uuid4()), "key_contact_name": "Bench", "key_contact_email": "b@example.com",
                  "status": "active"},
    )  # fmt: skip
    integration.schools.add(school)
    Application.objects.filter(name__startswith=name).delete()
    client_ids = []
    for n in range(count):
        app = Application.objects.create(
            name=f"{name} {n}",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=SECRET,
        )
        IntegrationClient.objects.create(integration=integration, application=app)
        client_ids.append(app.client_id)
    return client_ids


# measurements ---------------------------------------------------------------------------------


def warm_up(client: Client, workers: int) -> None:
    """A few small requests at once, so every worker has its database connection and code loaded."""
    with ThreadPoolExecutor(2 * workers) as pool:
        list(pool.map(lambda _n: client.pull("orgs", "status='active'", page_size=1), range(4 * workers)))


def full_pull(client: Client, filter_text: str) -> tuple[list[Pull], float]:
    """The five endpoints at once, one thread each; (pulls, wall seconds)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(len(FULL_PULL)) as pool:
        pulls = list(pool.map(lambda endpoint: client.pull(endpoint, filter_text), FULL_PULL))
    return pulls, time.perf_counter() - started


def print_pulls(label: str, pulls: list[Pull], seconds: float) -> None:
    latencies = [t for pull in pulls for t in pull.latencies]
    records = sum(pull.records for pull in pulls)
    print(f"== {label}")
    for pull in pulls:
        deepest = pull.latencies[-1] if pull.latencies else 0
        print(f"  {pull.endpoint:<17} {len(pull.latencies):>4} pages {pull.records:>9,} records "
              f"{pull.seconds:>6.1f} s  p50 {percentile(pull.latencies, 50):.3f} s  "
              f"p95 {percentile(pull.latencies, 95):.3f} s  deepest page {deepest:.3f} s")  # fmt: skip
    print(f"  pages:        {len(latencies)}")
    print(f"  records:      {records:,}")
    print(f"  total:        {seconds:.1f} s")
    print(f"  records/s:    {records / seconds:,.0f}")
    print(f"  page latency: p50 {percentile(latencies, 50):.3f} s, p95 {percentile(latencies, 95):.3f} s, "
          f"max {max(latencies, default=0):.3f} s")  # fmt: skip


def raw_read(school_id: int) -> tuple[int, float]:
    """The full pull's rows straight from PostgreSQL: payloads in sourcedId order, JSON-decoded and
    re-encoded in Python (the figure this bench always printed; it hides the gap to :func:`copy_read`)."""
    from django.db import connection

    started, records, size = time.perf_counter(), 0, 0
    with connection.cursor() as cursor:
        for kind in FULL_PULL.values():
            cursor.execute(
                "SELECT sourced_id, status, date_last_modified, payload FROM lis_publishedobject "
                "WHERE kind = %s AND status = 'active' AND school_id = %s ORDER BY sourced_id",
                [kind, school_id],
            )
            while rows := cursor.fetchmany(5000):
                page = [{"sourcedId": s, "status": st, "dateLastModified": m.isoformat(), **json.loads(p)}
                        for s, st, m, p in rows]  # fmt: skip
                size += len(json.dumps(page))
                records += len(rows)
    return records, time.perf_counter() - started


def copy_read(school_id: int) -> tuple[int, int, float]:
    """What PostgreSQL can stream: ``COPY (SELECT payload … ORDER BY sourced_id) TO STDOUT`` of the
    full pull's rows, one statement per kind on one connection; (records, bytes, seconds).

    The true raw figure the API is compared with (issue 19): no Python decoding, just the rows'
    payload text read off the wire.
    """
    from django.db import connection

    started, records, size = time.perf_counter(), 0, 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3's own cursor: Django's wrapper has no copy()
        for kind in FULL_PULL.values():
            statement = (
                "COPY (SELECT payload FROM lis_publishedobject WHERE kind = %s AND status = 'active' "
                "AND school_id = %s ORDER BY sourced_id) TO STDOUT"
            )
            with raw.copy(statement, [kind, school_id]) as copy:
                for block in copy:
                    size += len(block)
                    records += bytes(block).count(b"\n")
    return records, size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--teachers", type=int, default=4_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--skip-delta", action="store_true", help="leave the data unchanged")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="the workers' shared cache, as in production (kept page bounds, rate limits); '' for none")
    parser.add_argument("--rounds", type=int, default=3,
                        help="full pulls and COPY reads measured alternately this many times (medians compared)")
    parser.add_argument("--republish", action="store_true",
                        help="empty the school's store and publish it again before measuring (after a change to the write order)")
    args = parser.parse_args()

    url, _ = bench_database_url("bench-api-")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/api.py measures production: set BENCH_DATABASE_URL to a PostgreSQL URL, e.g. "
                         "postgres://bench:bench@127.0.0.1:5432/bench_api")  # fmt: skip
    django_setup(url)
    from publish import BENCH_SCHOOL_CODE, change_one_percent, prepare

    from lis.publication import publish_school

    school = dataset_ensure(BENCH_SCHOOL_CODE, args.students, args.teachers, prepare, republish=args.republish)
    (client_id,) = credentials_create(school, "Bench API")
    redis_url = args.redis_url if args.redis_url and redis_answers(args.redis_url) else ""
    with serve(url, workers=args.workers, port=args.port, redis_url=redis_url) as origin:
        print(f"gunicorn: {args.workers} workers at {origin}; PostgreSQL {url.rsplit('/', 1)[-1]}; cache in "
              f"{redis_url or 'local memory (each worker keeps its own page bounds)'}", flush=True)  # fmt: skip
        client = Client(origin, client_id, SECRET)
        warm_up(client, args.workers)
        store_version_new()
        pulls, api_seconds = full_pull(client, "status='active'")
        print_pulls("SDS full pull (limit=5000, filter=status='active')", pulls, api_seconds)
        largest, together = server_peak_rss_mb(origin)
        print(f"  peak RSS:     server worker {largest:.0f} MB (the {args.workers} together {together:.0f} MB); "
              f"client {peak_rss_mb():.0f} MB")  # fmt: skip
        copy_records, copy_bytes, copy_seconds = copy_read(school.pk)
        print("== COPY read of the same payloads (COPY (SELECT payload … ORDER BY sourced_id) TO STDOUT)")
        print(f"  records:      {copy_records:,} ({copy_bytes / 1e6:,.0f} MB)")
        print(f"  seconds:      {copy_seconds:.1f}")
        print(f"  records/s:    {copy_records / copy_seconds:,.0f}")
        print(f"  API/COPY:     {copy_seconds / api_seconds:.2f} (COPY seconds / API seconds; goal ≥ 0.5)")
        api_rounds, copy_rounds = [api_seconds], [copy_seconds]
        for _round in range(args.rounds - 1):
            store_version_new()
            api_rounds.append(full_pull(client, "status='active'")[1])
            copy_rounds.append(copy_read(school.pk)[2])
        if len(api_rounds) > 1:
            print(f"== {len(api_rounds)} rounds, each a full pull after a new store version, then a COPY read")
            for n, (api, copy) in enumerate(zip(api_rounds, copy_rounds, strict=True), start=1):
                print(f"  round {n}:      API {api:.1f} s, COPY {copy:.1f} s, API/COPY {copy / api:.2f}")
            api_median, copy_median = statistics.median(api_rounds), statistics.median(copy_rounds)
            print(f"  medians:      API {api_median:.1f} s ({copy_records / api_median:,.0f} records/s), "
                  f"COPY {copy_median:.1f} s → API/COPY {copy_median / api_median:.2f} (goal ≥ 0.5)")  # fmt: skip
        records, raw_seconds = raw_read(school.pk)
        print("== Python read of the same rows (select payloads, JSON-decode and re-encode)")
        print(f"  records:      {records:,}")
        print(f"  seconds:      {raw_seconds:.1f}")
        print(f"  API/Python:   {raw_seconds / api_seconds:.2f} (Python seconds / API seconds)")
        if args.skip_delta:
            return
        cutoff = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        change_one_percent()
        result = publish_school(school)
        store_analyze()
        changed = sum(c["created"] + c["updated"] + c["deleted"] for c in result.counts().values())
        print(f"== 1% change published: {changed:,} objects changed in {time.perf_counter() - started:.1f} s")
        stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%S.") + f"{cutoff.microsecond // 1000:03d}Z"
        pulls, delta_seconds = full_pull(client, f"dateLastModified>'{stamp}'")
        print_pulls(f"SDS delta pull (filter=dateLastModified>'{stamp}')", pulls, delta_seconds)


if __name__ == "__main__":
    main()
