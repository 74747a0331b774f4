"""bench/rating: import and rate a generated CSV of mixed xDRs on PostgreSQL with `tripleplay import-xdrs`
(the bulk path), next to the machine's pgbench baseline from the same run.

    .venv/bin/python bench/rating.py [--xdrs 1000000] [--accounts 10000] [--chunk-size 200000]
                                     [--pgbench-seconds 10] [--keep-csv PATH]

Setup (not measured): a scratch PostgreSQL database, `tripleplay migrate`, then one `tripleplay django
shell -c` (clock frozen at 2026-03-01) that creates a mobile bundle product (voice, data, messaging) with
a voice rate table of 60 prefixes (1..4 digits, 60/60, 30/6 and 1/1 increments, connection fees, off-peak
prices with a weekday 08:00-20:00 peak window), a data and an SMS table, two plans (with allowances: 60
minutes, 500 MB, 50 messages a month; and without), and N customers (2 in 3 prepaid with a top-up, 1 in 3
postpaid with a credit limit), one account each (phone number and login), half on each plan.

The CSV (not measured): 60 % calls, 25 % data sessions, 15 % messages over March 2026 (peak and
off-peak, weekdays and weekends), about 0.5 % broken or from unknown numbers, 0.2 % repeated ids.

Measured: the wall time of `tripleplay import-xdrs FILE --source bench` (a separate process, as an
operator runs it), xDRs per second, and the command's own split (parse, rate, write; the rest is reading
the CSV and Python start-up). Then checked: the number of xDRs stored, sum of xDR costs == minus the sum of
usage ledger entries, and every customer's balance == the sum of its entries.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import PG, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402

SEED_CLOCK = "2026-03-01T00:00:00Z"
PREFIXES = [str(p) for p in range(1, 10)] + [f"4{d}" for d in range(10)] + [f"44{d}" for d in range(10)] + [
    f"447{d}" for d in range(10)] + [f"33{d}" for d in range(10)] + [f"49{d}" for d in range(10)] + ["1", "4477"]


def _run_pg(cmd: str, *args: str) -> None:
    subprocess.run([cmd, "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], *args], check=True, capture_output=True)


def _database_exists(name: str) -> bool:
    out = subprocess.run(["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-Atc",
                          "SELECT 1 FROM pg_database WHERE datname = " + _literal(name), "postgres"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip() == "1"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def seed(env: dict, accounts: int) -> None:
    code = f"""
import django; django.setup()
from datetime import time
from django.db import transaction
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.rating.services import create_rate_table, set_peak_window, set_rate
actor = Actor.system("bench")
p = create_product(actor, code="bundle", name="Mobile bundle", kind="main", currency="USD",
                   services=["voice", "data", "messaging"])
free = create_plan(actor, p, code="bundle-free", name="Bundle with allowances", periodic_fee_minor=0, allowances=[
    {{"service_type": "voice", "unit": "minutes", "quantity": 60}},
     {{"service_type": "data", "unit": "megabytes", "quantity": 500}},
     {{"service_type": "messaging", "unit": "messages", "quantity": 50}}])
payg = create_plan(actor, p, code="bundle-payg", name="Pay as you go", periodic_fee_minor=0)
vt = create_rate_table(actor, p, service_type="voice", name="Voice")
set_peak_window(actor, vt, start=time(8), end=time(20), weekdays="12345")
increments = [(60, 60), (30, 6), (1, 1)]
for i, prefix in enumerate(sorted(set({PREFIXES!r})) + [""]):
    first, nxt = increments[i % 3]
    set_rate(actor, vt, prefix=prefix, price_per_unit_micros=10_000 + 7_919 * i, connection_fee_micros=(i % 4) * 10_000,
             first_increment=first, next_increment=nxt,
             offpeak_price_per_unit_micros=(5_000 + 3_001 * i) if i % 2 else None)
dt = create_rate_table(actor, p, service_type="data", name="Data")
set_rate(actor, dt, prefix="", price_per_unit_micros=12_345, first_increment=100, next_increment=100)
mt = create_rate_table(actor, p, service_type="messaging", name="SMS")
set_rate(actor, mt, prefix="", price_per_unit_micros=45_000, offpeak_price_per_unit_micros=20_000)
set_peak_window(actor, mt, start=time(8), end=time(20), weekdays="12345")
for i in range({accounts}):
    with transaction.atomic():
        prepaid = i % 3 != 2
        c = create_customer(actor, name=f"bench {{i}}", currency="USD",
                            balance_model="prepaid" if prepaid else "postpaid",
                            **({{}} if prepaid else {{"credit_limit_minor": 50_000}}))
        if prepaid:
            record_payment(actor, c, Money(2_000, "USD"), idempotency_key=f"bench-{{i}}")
        create_account(actor, c, main_plan=free if i % 2 else payg, phone_number=f"1555{{i:07d}}",
                       login=f"bench-{{i}}")
print("SEEDED")
"""
    tripleplay("django", "shell", "-c", code, env={**env, "TRIPLEPLAY_CLOCK": SEED_CLOCK}, capture_output=True, text=True)


def generate(path: Path, n: int, accounts: int, seed_value: int = 42) -> None:
    rng = random.Random(seed_value)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    callees = [p + "".join(rng.choice("0123456789") for _ in range(11 - len(p))) for p in PREFIXES * 20]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "service_type", "started_at", "caller", "callee", "duration_seconds", "login", "bytes",
                    "destination", "count"])
        for i in range(n):
            a = rng.randrange(accounts)
            at = (start + timedelta(seconds=rng.randrange(31 * 86400))).isoformat()
            ext = f"b{i}" if rng.random() > 0.002 else f"b{rng.randrange(i + 1)}"
            kind = rng.random()
            if rng.random() < 0.005:  # broken or unknown
                w.writerow([ext, "voice", at if kind < 0.5 else "yesterday", "19999999999", "4420", "x", "", "", "",
                            ""])
            elif kind < 0.60:
                w.writerow([ext, "voice", at, f"1555{a:07d}", rng.choice(callees), rng.choice(
                    [0, 5, 30, 61, 90, 125, 180, 300, 600, 1800]), "", "", "", ""])
            elif kind < 0.85:
                w.writerow([ext, "data", at, "", "", "", f"bench-{a}", rng.randrange(0, 50_000_000), "", ""])
            else:
                w.writerow([ext, "messaging", at, f"1555{a:07d}", "", "", "", "", rng.choice(callees),
                            rng.choice([1, 1, 1, 2, 3])])


CHECK = """
import json
import django; django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT count(*), coalesce(sum(cost_minor), 0), count(*) FILTER (WHERE status = 'rated'),"
              " count(*) FILTER (WHERE status = 'error') FROM rating_xdr")
    xdrs, cost, rated, errors = c.fetchone()
    c.execute("SELECT count(*), coalesce(sum(amount_minor), 0) FROM ledger_ledgerentry WHERE source = 'usage'")
    entries, usage = c.fetchone()
    c.execute("SELECT count(*) FROM ledger_funds f WHERE f.balance_minor <> coalesce((SELECT sum(e.amount_minor)"
              " FROM ledger_ledgerentry e WHERE e.customer_id = f.customer_id), 0)")
    mismatched = c.fetchone()[0]
    c.execute("SELECT count(*) FROM ledger_funds WHERE balance_minor < 0")
    negative = c.fetchone()[0]
print("CHECK " + json.dumps({"xdrs": xdrs, "rated": rated, "errors": errors, "sum_xdr_cost_minor": int(cost),
                             "usage_entries": entries, "sum_usage_entries_minor": int(usage),
                             "balances_not_equal_to_entries": mismatched, "negative_balances": negative}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xdrs", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--chunk-size", type=int, default=200_000, help="default: the command's (CHUNK_SIZE in rating/bulk)")
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--keep-csv", help="write the generated CSV here (and keep it)")
    ap.add_argument("--profile", help="run the import under cProfile and write the stats here")
    ap.add_argument("--seed-template", help="a database name: reuse the accounts seeded there (copied with createdb -T) "
                                            "if it exists, else seed and keep a copy under that name for the next run")
    args = ap.parse_args()

    results: dict = {"xdrs": args.xdrs, "accounts": args.accounts, "chunk_size": args.chunk_size}
    with tempfile.TemporaryDirectory(prefix="tp_rate_bench_") as tmp, scratch_database("tp_rate_bench") as db:
        env = django_env(db, Path(tmp))
        template = args.seed_template
        if template and _database_exists(template):
            print(f"accounts from the seed template {template}", flush=True)
            _run_pg("dropdb", db)
            _run_pg("createdb", "-T", template, db)
            tripleplay("migrate", "-v", "0", env=env)
        else:
            tripleplay("migrate", "-v", "0", env=env)
            t = time.perf_counter()
            print(f"seeding {args.accounts} accounts ... ", end="", flush=True)
            seed(env, args.accounts)
            print(f"{time.perf_counter() - t:.1f} s", flush=True)
            if template:
                _run_pg("createdb", "-T", db, template)
        path = Path(args.keep_csv) if args.keep_csv else Path(tmp) / "xdrs.csv"
        t = time.perf_counter()
        print(f"generating {args.xdrs} xDRs ... ", end="", flush=True)
        generate(path, args.xdrs, args.accounts)
        print(f"{time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)

        print(f"load before the import: {os.getloadavg()}", flush=True)
        results["loadavg_before"] = os.getloadavg()
        cmd = ["import-xdrs", str(path), "--source", "bench", "--chunk-size", str(args.chunk_size), "-v", "2"]
        if args.profile:
            cmd = None
        t0 = time.perf_counter()
        if cmd:
            out = tripleplay(*cmd, env={**env, "TRIPLEPLAY_CLOCK": "2026-04-01T00:00:00Z"}, capture_output=True,
                             text=True).stdout
        else:
            out = subprocess.run(
                [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "tripleplay.cli", "import-xdrs", str(path),
                 "--source", "bench", "--chunk-size", str(args.chunk_size), "-v", "2"],
                env={**env, "TRIPLEPLAY_CLOCK": "2026-04-01T00:00:00Z"}, check=True, capture_output=True,
                text=True).stdout
        wall = time.perf_counter() - t0
        results["loadavg_after"] = os.getloadavg()
        lines = out.strip().splitlines()
        results["command_time_line"] = next(x for x in lines if x.startswith("time: "))
        results["command_done_line"] = next(x for x in lines if x.startswith("done: "))
        results["command_database_steps"] = next((x for x in lines if x.startswith("database steps: ")), "")
        results["command_cpu"] = next((x for x in lines if x.startswith("cpu: ")), "")
        results["wall_seconds"] = round(wall, 2)
        results["xdrs_per_second"] = round(args.xdrs / wall)
        split = re.search(r"read ([\d.]+) s, parse ([\d.]+) s, rate ([\d.]+) s, write ([\d.]+) s, commit ([\d.]+) s",
                          results["command_time_line"])
        if split:
            results["split_seconds"] = dict(zip(("read", "parse", "rate", "write", "commit"), map(float, split.groups()),
                                                strict=True))
        check_out = tripleplay("django", "shell", "-c", CHECK, env=env, capture_output=True, text=True).stdout
        check = json.loads(next(x for x in check_out.splitlines() if x.startswith("CHECK "))[6:])
        results["check"] = check
        results["totals_match"] = (check["sum_xdr_cost_minor"] == -check["sum_usage_entries_minor"]
                                   and check["balances_not_equal_to_entries"] == 0)
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline(seconds=args.pgbench_seconds)
    print(results["pgbench"], flush=True)

    print()
    print(f"import-xdrs of {args.xdrs:,} mixed xDRs over {args.accounts:,} accounts (chunks of {args.chunk_size:,}):")
    print(f"  wall {results['wall_seconds']} s  ->  {results['xdrs_per_second']:,} xDRs/s (whole command, incl. "
          "Python start-up and reading the CSV)")
    print(f"  {results['command_time_line']}")
    print(f"  {results['command_database_steps']}")
    print(f"  {results['command_cpu']}")
    print(f"  {results['command_done_line']}")
    c = results["check"]
    print(f"  check: {c['xdrs']:,} xDRs stored ({c['rated']:,} rated, {c['errors']:,} errors); sum of xDR costs "
          f"{c['sum_xdr_cost_minor']:,} == -(sum of {c['usage_entries']:,} usage entries {c['sum_usage_entries_minor']:,})"
          f": {c['sum_xdr_cost_minor'] == -c['sum_usage_entries_minor']}; balances != sum of entries: "
          f"{c['balances_not_equal_to_entries']}; negative balances: {c['negative_balances']}")
    print(f"  load average before {results['loadavg_before']}, after {results['loadavg_after']}")
    print(f"  pgbench simple-update baseline (same run): {results['pgbench'].get('tps')} TPS "
          f"({results['pgbench'].get('clients')} clients, {results['pgbench'].get('seconds')} s)")
    print("RESULT " + json.dumps(results))
    return 0 if results["totals_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
