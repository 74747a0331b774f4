"""bench/radius_start_probe: where an Accounting-Start's time goes in process (tripleplay's side only, no
FreeRADIUS, no HTTP), on a seeded scratch PostgreSQL database (bench/radius.py's subscribers):

    flock /tmp/tripleplay-bench.lock .venv/bin/python bench/radius_start_probe.py [--users 400]
        [--starts 200] [--threads 16] [--seconds 10] [--profile 25] [--sort cumulative|tottime] [--database NAME]

Each Start is `radius.services.record_accounting(nas, {"Acct-Status-Type": ["Start"], ...})`, as the
accounting view calls it, for a new Acct-Session-Id of subscriber u<n> (round-robin over --users).

1. serial: --starts Starts one after the other; per Start the wall time, the SQL statements (count,
   time in the database driver) and the rest (Python); the statements grouped by text, slowest first;
   and a cProfile of them (the --profile functions with most cumulative time).
2. threaded: --threads threads (one connection each, like `tripleplay serve`'s threads) start
   sessions for --seconds; Starts/s, p50/p99, and what the backends of this database were waiting on
   (pg_stat_activity's wait_event_type:wait_event sampled every 20 ms, and the locks not granted in
   pg_locks), so that a lock every Start takes shows up.

Bounded: users 1..5000, starts 1..5000, threads 1..64, seconds 1..120. The scratch database is dropped
on the way out; `--database NAME` uses an existing database instead and keeps it (seeded first if it
has no tables: for repeated runs, each adding its Starts to it; drop it afterwards). The machine's
pgbench TPS is printed first (the machine's speed that day)."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.radius import seed_tripleplay  # noqa: E402

NAS = "127.0.0.1"
_SAVEPOINT = re.compile(r'^(|RELEASE|ROLLBACK TO) ?SAVEPOINT "[^"]+"')


class Statements:
    """A connection.execute_wrapper: each statement's text, count and time (seconds)."""

    def __init__(self):
        self.count, self.time = Counter(), defaultdict(float)

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql = _SAVEPOINT.sub(r"\1 SAVEPOINT s", sql)  # one line for every savepoint name
            self.count[sql] += 1
            self.time[sql] += time.perf_counter() - t0


def _attrs(user: str, session: str) -> dict:
    return {"Acct-Status-Type": ["Start"], "User-Name": [user], "Acct-Session-Id": [session],
            "Framed-IP-Address": ["10.0.0.1"], "Acct-Delay-Time": ["0"]}


def serial(args, run: str) -> None:
    from django.db import connection

    from tripleplay.core import prepared
    from tripleplay.radius.models import NasClient
    from tripleplay.radius.services import record_accounting

    nas = NasClient.objects.get(address=NAS)
    for i in range(5):  # warm: imports, prepared statements, caches
        record_accounting(nas, _attrs(f"u{i % args.users}", f"{run}-warm-{i}"))
    stmts = Statements()
    walls = []
    cpu0 = time.process_time()
    # prepared.run bypasses Django's cursor wrappers: count it by hand.
    original = prepared.run

    def counted(db, sql, params, *, logged_as=None):
        t0 = time.perf_counter()
        try:
            return original(db, sql, params, logged_as=logged_as)
        finally:
            stmts.count["[prepared] " + sql] += 1
            stmts.time["[prepared] " + sql] += time.perf_counter() - t0

    prepared.run = counted
    try:
        with connection.execute_wrapper(stmts):
            for i in range(args.starts):
                t0 = time.perf_counter()
                record_accounting(nas, _attrs(f"u{i % args.users}", f"{run}-s-{i}"))
                walls.append(time.perf_counter() - t0)
    finally:
        prepared.run = original
    cpu = time.process_time() - cpu0
    n = args.starts
    sql_s = sum(stmts.time.values())
    print(f"serial: {n} Starts, {n / sum(walls):,.0f}/s, wall per Start {1000 * statistics.mean(walls):.2f} ms "
          f"(p50 {1000 * statistics.median(walls):.2f}), statements {sum(stmts.count.values()) / n:.1f} per Start "
          f"taking {1000 * sql_s / n:.2f} ms, the rest (Python) {1000 * (sum(walls) - sql_s) / n:.2f} ms; "
          f"this process's CPU {1000 * cpu / n:.2f} ms per Start", flush=True)
    print("statements per Start, by time:")
    for sql, t in sorted(stmts.time.items(), key=lambda kv: -kv[1]):
        print(f"  {stmts.count[sql] / n:5.2f} x {1000 * t / stmts.count[sql]:6.3f} ms  {sql[:220]}")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        record_accounting(nas, _attrs(f"u{(i + n) % args.users}", f"{run}-p-{i}"))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.profile)
    print(out.getvalue(), flush=True)


def threaded(args, run: str, database: str) -> None:
    import psycopg
    from django.db import connection

    from tripleplay.radius.models import NasClient
    from tripleplay.radius.services import record_accounting

    nas = NasClient.objects.get(address=NAS)
    connection.close()
    stop = time.monotonic() + args.seconds
    latencies: list[float] = []
    errors = Counter()
    seq = iter(range(10**9))
    lock = threading.Lock()

    def worker():
        from django.db import connection as conn

        try:
            while time.monotonic() < stop:
                with lock:
                    i = next(seq)
                t0 = time.perf_counter()
                try:
                    record_accounting(nas, _attrs(f"u{i % args.users}", f"{run}-t-{i}"))
                except Exception as e:  # noqa: BLE001 -- counted and shown, the probe goes on
                    errors[type(e).__name__] += 1
                latencies.append(time.perf_counter() - t0)
        finally:
            conn.close()

    waits, blocked = Counter(), Counter()
    samples = [0]

    def sampler():
        with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "5432"),
                             user=os.environ.get("PGUSER", "postgres"), dbname=database, autocommit=True) as pg:
            me = pg.info.backend_pid
            while time.monotonic() < stop:
                rows = pg.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                                  "WHERE datname = %s AND pid <> %s AND backend_type = 'client backend'",
                                  [database, me]).fetchall()
                samples[0] += 1
                for state, kind, event in rows:
                    waits[f"{state}: {kind or 'CPU'}:{event or '-'}"] += 1
                for kind, mode, relation in pg.execute(
                        "SELECT l.locktype, l.mode, coalesce(c.relname, l.locktype) FROM pg_locks l "
                        "LEFT JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted").fetchall():
                    blocked[f"{kind} {mode} {relation}"] += 1
                time.sleep(0.02)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    watch = threading.Thread(target=sampler)
    t0 = time.monotonic()
    for t in [*threads, watch]:
        t.start()
    for t in [*threads, watch]:
        t.join()
    elapsed = time.monotonic() - t0
    latencies.sort()
    pct = (lambda p: 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]) if latencies else (lambda p: 0)
    print(f"threaded: {args.threads} threads for {args.seconds} s: {len(latencies) / elapsed:,.0f} Starts/s, "
          f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, errors {dict(errors) or 'none'}")
    print(f"backends of {database} ({samples[0]} samples, average backends per state:wait_event):")
    for key, c in waits.most_common(12):
        print(f"  {c / max(samples[0], 1):6.2f}  {key}")
    print("locks waited for (average waiting per sample):" + ("" if blocked else " none"))
    for key, c in blocked.most_common(8):
        print(f"  {c / max(samples[0], 1):6.2f}  {key}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--starts", type=int, default=200, help="serial Starts (timed, then as many profiled)")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=10, help="time of the threaded phase")
    ap.add_argument("--profile", type=int, default=25, help="functions shown of the profile")
    ap.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"], help="the profile's order")
    ap.add_argument("--database", help="an existing database to use and keep (seeded if it has no tables yet)")
    args = ap.parse_args()
    if (not 1 <= args.users <= 5000 or not 1 <= args.starts <= 5000 or not 1 <= args.threads <= 64
            or not 1 <= args.seconds <= 120):
        raise SystemExit("out of bounds: users 1..5000, starts 1..5000, threads 1..64, seconds 1..120")
    print(f"pgbench simple-update (same run): {pgbench_baseline()['tps']} TPS", flush=True)
    scratch = nullcontext(args.database) if args.database else scratch_database("tp_bench_start_probe")
    with tempfile.TemporaryDirectory() as home, scratch as db:
        env = django_env(db, Path(home))
        seeded = args.database and _pg("psql", "-At", "-d", db, "-c",
                                       "SELECT to_regclass('radius_nasclient') IS NOT NULL").stdout.strip() == "t"
        if not seeded:
            t0 = time.monotonic()
            tripleplay("migrate", "-v", "0", env=env)
            seed_tripleplay(env, args.users, 10_000_000)
            _pg("psql", "-q", "-d", db, "-c", "VACUUM ANALYZE")
            print(f"seeded {args.users} subscribers in {time.monotonic() - t0:.0f} s", flush=True)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "TRIPLEPLAY_HOME", "DJANGO_SETTINGS_MODULE")})
        os.environ.pop("TRIPLEPLAY_DEBUG", None)
        import django

        django.setup()
        run = f"{os.getpid()}-{int(time.time())}"
        serial(args, run)
        threaded(args, run, db)
        from django.db import connections

        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
