"""bench/invoicing_probe: where one invoice run's time and WAL go, per statement kind and table.

    .venv/bin/python bench/invoicing_probe.py [--customers 10000] [--batch-size 1000] [--profile-batch 5]

Seeds a scratch database exactly as bench/invoicing.py does (bundles and promotions), then runs the
invoice run's batches in this process (``services._close_due_batch``, as ``run_invoices`` does) with
every statement wrapped: its wall time and the WAL it wrote (``pg_current_wal_insert_lsn()`` before
and after, on the run's own connection: other sessions' WAL in the same instant is counted too, so
read it on a quiet machine), the COPYs (``core.bulk``) and each COMMIT likewise (the deferred
foreign-key checks run at COMMIT). One batch (``--profile-batch``) runs under cProfile (its Python
time by function) and its reads slower than 5 ms are explained (EXPLAIN ANALYZE, after the read).
``--sql`` runs statements on the seeded database first (an experiment: a constraint dropped). A
CHECKPOINT before the run makes the first change of every page a full-page image, as in production,
where the entries invoiced were written a month earlier. Prints a table per label (statement kind
and table): calls, seconds, ms per batch, WAL MB, and WAL bytes per customer. Not a benchmark of
the run's speed (the probes add a round trip per statement): a measurement of where it goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import django_env, scratch_database, tripleplay  # noqa: E402
from bench.invoicing import CATALOG, SEED, psql  # noqa: E402

_LABEL = re.compile(r'^\s*(?:WITH .*?\)\s*)?(SELECT|INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(.*?)(?:\s|\(|$)',
                    re.IGNORECASE | re.DOTALL)
_FROM = re.compile(r'\bFROM\s+"?([a-z_]+)"?', re.IGNORECASE)


def label(sql: str) -> str:
    head = sql.lstrip()
    if head.upper().startswith("SELECT"):
        m = _FROM.search(head)
        what = m.group(1) if m else head[7:40]
        return f"SELECT {what}" + (" FOR UPDATE" if "FOR UPDATE" in head.upper() or "FOR NO KEY" in head.upper()
                                   else "")
    m = _LABEL.match(head)
    if not m:
        return head[:40]
    return f"{m.group(1).upper()} {m.group(2).strip(chr(34))}"


def child(batch_size: int, profile_batch: int) -> None:
    import django

    django.setup()
    from datetime import date

    from django.db import connection

    from tripleplay.core import bulk
    from tripleplay.core.actors import Actor
    from tripleplay.invoicing import services

    stats: dict[str, list[float]] = {}  # label -> [calls, seconds, wal bytes]
    raw = {}

    def lsn() -> int:
        cur = raw["c"]
        cur.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cur.fetchone()[0])

    def measured(name: str, fn, *a, **k):
        before = lsn()
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            dt = time.perf_counter() - t
            wal = lsn() - before
            s = stats.setdefault(name, [0, 0.0, 0])
            s[0] += 1
            s[1] += dt
            s[2] += wal

    plans: dict[str, str] = {}
    in_profiled = [False]

    def wrapper(execute, sql, params, many, context):
        name = label(sql)
        t = time.perf_counter()
        result = measured(name, execute, sql, params, many, context)
        if (name.startswith("SELECT") and "FOR UPDATE" not in name and in_profiled[0]
                and time.perf_counter() - t > 0.005 and not many):
            # A slow read of the profiled batch: its plan (EXPLAIN ANALYZE of a plain SELECT changes nothing).
            with context["connection"].cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = re.sub(r"\{[0-9,]{200,}\}", "{...}", "\n".join(r[0] for r in cur.fetchall()))
                plans[f"{name} #{len(plans) + 1}"] = re.sub(r"\(%s(, %s)+\)", "(%s, ...)", sql)[:400] + "\n" + plan
        return result

    # The LSN is read on a connection of its own (autocommit): a query on the run's connection after its
    # COMMIT would open a transaction there.
    import psycopg

    settings = connection.settings_dict
    probe = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                            dbname=settings["NAME"], autocommit=True)
    raw["c"] = probe.cursor()
    for name in ("insert", "insert_rows", "send_copy_data"):
        original = getattr(bulk, name)

        def wrapped(target, *a, _original=original, **k):
            table = target if isinstance(target, str) else target._meta.db_table
            return measured(f"COPY {table}", _original, target, *a, **k)
        setattr(bulk, name, wrapped)
    # ledger.bulk imported insert/insert_rows by name
    from tripleplay.ledger import bulk as ledger_bulk
    ledger_bulk.insert, ledger_bulk.insert_rows = bulk.insert, bulk.insert_rows
    from tripleplay.audit import services as audit_services
    audit_services.insert_rows, audit_services.insert = bulk.insert_rows, bulk.insert
    services.bulk = bulk
    commit = connection.commit
    connection.commit = lambda: measured("COMMIT", commit)

    actor = Actor.system("invoice-run")
    through = date(2026, 2, 1)
    services.ensure_series()
    services.ensure_schedules()
    total_customers = 0
    n = 0
    from_id = 0
    wall0, wal0 = time.perf_counter(), lsn()
    cpu0 = time.process_time()
    profile_text = ""
    with connection.execute_wrapper(wrapper):
        while True:
            n += 1
            prof = cProfile.Profile() if n == profile_batch else None
            in_profiled[0] = n == profile_batch
            if prof:
                prof.enable()
            issued, claimed, from_id = services._close_due_batch(actor, through, issue_date=None, limit=batch_size,
                                                                 customer_ids=None, batch_delay=0, from_id=from_id)
            if prof:
                prof.disable()
                out = __import__("io").StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
                profile_text = out.getvalue()
            if not claimed:
                break
            total_customers += len(issued)
    wall, wal, cpu = time.perf_counter() - wall0, lsn() - wal0, time.process_time() - cpu0
    rows = sorted(stats.items(), key=lambda kv: -kv[1][1])
    print(f"customers {total_customers}, batches {n - 1}, wall {wall:.2f} s (with probes), process CPU {cpu:.2f} s,"
          f" WAL {wal / 1e6:.1f} MB = {wal / max(total_customers, 1):.0f} B/customer")
    print(f"{'label':58} {'calls':>6} {'s':>7} {'ms/batch':>9} {'WAL MB':>8} {'B/cust':>7}")
    batches = max(n - 1, 1)
    for name, (calls, secs, walb) in rows:
        print(f"{name[:58]:58} {calls:6d} {secs:7.2f} {secs * 1000 / batches:9.1f} {walb / 1e6:8.2f}"
              f" {walb / max(total_customers, 1):7.0f}")
    print(json.dumps({k: v for k, v in stats.items()}))
    for name, plan in plans.items():
        print(f"--- plan of {name} ---\n{plan}")
    if profile_text:
        print(f"--- cProfile of batch {profile_batch} ---")
        print(profile_text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--profile-batch", type=int, default=5)
    ap.add_argument("--sql", action="append", default=[], help="SQL run on the seeded database before the run"
                    " (an experiment: e.g. a constraint dropped)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.batch_size, args.profile_batch)
        return 0
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_inv_probe") as db:
        env = {**django_env(db, Path(home)), "TRIPLEPLAY_CLOCK": "2026-02-01T02:00:00Z"}
        tripleplay("migrate", "-v", "0", env=env)
        tripleplay("django", "shell", "-c", CATALOG.format(bundles=True, promotions=True), env=env,
                   capture_output=True, text=True)
        psql(db, SEED.format(cohort=1, n=args.customers, balance=-(750 + 999 + 3000 + 110 + 499) + 500 + 2000,
                             tv_fee=750, tv_label=" (Half price for three months)",
                             tv_promotion="Half price for three months"))
        for sql in args.sql:
            psql(db, sql)
        psql(db, "VACUUM ANALYZE")
        psql(db, "CHECKPOINT")
        print(f"load before {os.getloadavg()[0]:.2f}", flush=True)
        subprocess.run([sys.executable, __file__, "--child", "--batch-size", str(args.batch_size),
                        "--profile-batch", str(args.profile_batch)], env=env, check=True,
                       cwd=Path(__file__).resolve().parent.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
