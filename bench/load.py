"""Load test: ``python bench/load.py [--clients 20] [--students N] [--workers N] [--api-rate R]``.

Starts gunicorn on 127.0.0.1 (``bench/api.py``'s :func:`serve`) over the bench database
(``BENCH_DATABASE_URL``, PostgreSQL or a temporary SQLite file; see ``bench/common.py``) holding a
generated school (``BENCHLOAD``, default 2,000 students — built and published once), then runs
``--clients`` SDS-style full pulls at the same time, each with its own OAuth client (five
endpoints, ``limit=5000``, ``filter=status='active'``, one after the other as SDS does). Meanwhile
one *greedy* client of its own sends quick requests until it has been refused with 429 fifty
times — on purpose: the SDS clients must not notice (limits are per OAuth client). The workers
share their rate counters in Redis (``--redis-url``, as in production) when it answers.

Prints requests, records, errors (anything but 200 — must be 0 — and the SDS clients' 429s,
which must be 0 too), the greedy client's deliberate 429s, p50/p95/max request latency and
requests/s. Exits 1 when an SDS client saw an error or a 429.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from api import FULL_PULL, SECRET, Client, credentials_create, dataset_ensure, percentile, serve, warm_up
from common import bench_database_url, django_setup, redis_answers, remove

SCHOOL_CODE = "BENCHLOAD"


def sds_client(origin: str, client_id: str) -> tuple[list[float], int, dict[int, int]]:
    """One SDS full pull: (request latencies, records, status counts)."""
    client = Client(origin, client_id, SECRET)
    latencies, records, statuses = [], 0, {}
    for endpoint in FULL_PULL:
        pull = client.pull(endpoint, "status='active'", retry_429=True)
        latencies += pull.latencies
        records += pull.records
        for status, count in pull.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return latencies, records, statuses


def greedy_client(origin: str, client_id: str, allowed: int) -> dict[int, int]:
    """Small GETs as fast as one thread can, until 50 were refused (429) or 3 × ``allowed`` were sent.

    (A fixed window may reset mid-burst, so "allowed + 1 requests" alone would not always hit the limit.)
    """
    client = Client(origin, client_id, SECRET)
    statuses: dict[int, int] = {}
    session = client.session()
    for _ in range(3 * allowed):
        response = session.get(f"{origin}/ims/oneroster/v1p1/orgs", params={"limit": "1"}, timeout=60)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if statuses.get(429, 0) >= 50:
            break
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--teachers", type=int, default=150)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--api-rate", default="600/min", help="ONEROSTER_API_RATE of the server")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="the workers' shared cache (empty: local memory per worker)")  # fmt: skip
    args = parser.parse_args()

    url, temp_dir = bench_database_url("bench-load-")
    try:
        django_setup(url)
        import publish

        publish.BENCH_SCHOOL_CODE = SCHOOL_CODE  # publish.prepare builds the school of this code
        school = dataset_ensure(SCHOOL_CODE, args.students, args.teachers, publish.prepare)
        *sds_ids, greedy_id = credentials_create(school, "Bench load", args.clients + 1)
        allowed = int(args.api_rate.split("/")[0])
        redis_url = args.redis_url if args.redis_url and redis_answers(args.redis_url) else ""
        with serve(url, workers=args.workers, api_rate=args.api_rate, redis_url=redis_url) as origin:
            print(f"gunicorn: {args.workers} workers at {origin}; {url.split(':')[0]}; API rate {args.api_rate} "
                  f"per client in {redis_url or 'local memory (no Redis: one budget per worker)'}")  # fmt: skip
            warm_up(Client(origin, greedy_id, SECRET), args.workers)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients + 1) as pool:
                greedy = pool.submit(greedy_client, origin, greedy_id, allowed)
                results = list(pool.map(lambda client_id: sds_client(origin, client_id), sds_ids))
                greedy_statuses = greedy.result()
            seconds = time.perf_counter() - started
    finally:
        remove(temp_dir)

    latencies = [t for result in results for t in result[0]]
    records = sum(result[1] for result in results)
    statuses: dict[int, int] = {}
    for _latencies, _records, counts in results:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    requests = sum(statuses.values())
    errors = sum(count for status, count in statuses.items() if status not in (200, 429))
    print(f"== {args.clients} concurrent SDS full pulls ({', '.join(FULL_PULL)}; limit=5000, status='active')")
    print(f"  requests:        {requests:,}")
    print(f"  records:         {records:,} ({records // max(args.clients, 1):,} per client)")
    print(f"  errors:          {errors} (statuses {dict(sorted(statuses.items()))})")
    print(f"  429s to SDS:     {statuses.get(429, 0)}")
    print(f"  latency:         p50 {percentile(latencies, 50):.3f} s, p95 {percentile(latencies, 95):.3f} s, "
          f"max {max(latencies, default=0):.3f} s")  # fmt: skip
    print(f"  wall:            {seconds:.1f} s ({requests / seconds:.1f} requests/s)")
    print(f"== greedy client: {sum(greedy_statuses.values()):,} requests, statuses {dict(sorted(greedy_statuses.items()))} "
          f"(deliberate 429s: {greedy_statuses.get(429, 0)})")  # fmt: skip
    if errors or statuses.get(429, 0):
        sys.exit(1)


if __name__ == "__main__":
    main()
