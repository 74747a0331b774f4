"""bench/invoicing: the invoice run on PostgreSQL, customers per second, next to the machine's pgbench
baseline from the same run.

    .venv/bin/python bench/invoicing.py [--sizes 10000 100000] [--batch-size 1000] [--processes 1] [--threads 1]

Setup (not measured): a scratch PostgreSQL database, `tripleplay migrate`, then for each size a cohort
of postpaid customers (monthly, tax 20 %) inserted with set-based SQL, each with 10 ledger entries in
January 2026: three subscription fees (two IPTV, one internet, with their periods), four voice usage
charges, one pay-per-view purchase, one credit and one payment. That gives 7 lines per invoice (the
four calls are summarized on one line) and 11 entries marked (the ten and the invoice's tax entry).
Measured: `tripleplay invoice-run --date 2026-02-01` as a separate process, wall time from start
to exit (Python start-up and Django set-up included), for that cohort only (earlier cohorts' periods
are closed and not due). Checked after each run: one invoice per customer, gapless numbers, every
entry on exactly one invoice. PDFs are not rendered by the run (the separate invoice-documents job
does that), so they are not in the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402

SEED = """
WITH c AS (
  INSERT INTO customers_customer (name, email, phone, address_line1, address_line2, city, postal_code, country,
      currency, balance_model, billing_period, bill_cycle_day, tax_rate, status, status_reason, status_changed_at,
      created_at)
  SELECT 'bench {cohort} ' || g, '', '', g || ' Bench Street', '', 'Benchville', '12345', 'US', 'USD', 'postpaid',
         'monthly', 1, 20, 'active', '', '2026-01-01T08:00:00Z', '2026-01-01T08:00:00Z'
  FROM generate_series(1, {n}) g RETURNING id
), f AS (
  INSERT INTO ledger_funds (customer_id, currency, balance_minor, credit_limit_minor, held_minor)
  SELECT id, 'USD', -3608, 1000000, 0 FROM c RETURNING customer_id  -- the sum of the ten entries below
)
INSERT INTO ledger_ledgerentry (actor_kind, actor_ref, actor_name, customer_id, kind, amount_minor, currency,
    balance_after_minor, description, reason, source, reference, service_type, idempotency_key, request_fingerprint,
    created_at, data)
SELECT 'system', 'bench', 'bench', f.customer_id, v.kind, v.amount, 'USD', 0, v.descr, '', v.source, '', v.service,
       'bench:' || f.customer_id || ':' || v.k, 'bench', '2026-01-10T12:00:00Z'::timestamptz + v.k * interval '1 hour',
       v.data::jsonb
FROM f CROSS JOIN (VALUES
  (1, 'charge', -1500, 'subscription', 'iptv', 'TV Basic monthly: subscription fee 2026-01-01..2026-01-31',
   '{{"period_start": "2026-01-01", "period_end": "2026-02-01"}}'),
  (2, 'charge', -999, 'subscription', 'iptv', 'Sports monthly: subscription fee 2026-01-01..2026-01-31',
   '{{"period_start": "2026-01-01", "period_end": "2026-02-01"}}'),
  (3, 'charge', -3000, 'subscription', 'data', 'Fiber 100 monthly: subscription fee 2026-01-01..2026-01-31',
   '{{"period_start": "2026-01-01", "period_end": "2026-02-01"}}'),
  (4, 'charge', -20, 'usage', 'voice', 'Call to 15559999, 120 s billed', '{{}}'),
  (5, 'charge', -10, 'usage', 'voice', 'Call to 15559998, 60 s billed', '{{}}'),
  (6, 'charge', -50, 'usage', 'voice', 'Call to 15559997, 300 s billed', '{{}}'),
  (7, 'charge', -30, 'usage', 'voice', 'Call to 15559996, 180 s billed', '{{}}'),
  (8, 'charge', -499, 'ppv', 'ppv', 'PPV: Boxing night', '{{}}'),
  (9, 'credit', 500, 'manual', '', 'Credit: outage compensation', '{{}}'),
  (10, 'payment', 2000, 'card', '', 'Payment (card)', '{{}}')
) AS v(k, kind, amount, source, service, descr, data);
"""

CHECK = """
import json
import django; django.setup()
from django.db.models import Count, Max, Min
from tripleplay.invoicing.models import Invoice, InvoicedEntry, InvoiceLine
from tripleplay.ledger.models import LedgerEntry
from tripleplay.customers.models import Customer
cohort = Customer.objects.filter(name__startswith="bench {cohort} ")
inv = Invoice.objects.filter(customer__in=cohort)
per = inv.values("customer_id").annotate(n=Count("id")).filter(n__gt=1).count()
allinv = Invoice.objects.aggregate(n=Count("id"), lo=Min("number"), hi=Max("number"))
print("CHECK " + json.dumps({{
  "customers": cohort.count(), "invoices": inv.count(), "customers_with_two": per,
  "lines": InvoiceLine.objects.filter(invoice__in=inv).count(),
  "gapless_all": allinv["hi"] - allinv["lo"] + 1 == allinv["n"],
  "entries": LedgerEntry.objects.filter(customer__in=cohort).count(),
  "entries_invoiced": InvoicedEntry.objects.filter(invoice__in=inv).count(),
  "sample_total_minor": inv.order_by("id").values_list("total_minor", flat=True).first(),
}}))
"""


def psql(db: str, sql: str) -> None:
    from bench._common import PG

    subprocess.run(["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1",
                    "-q", "-c", sql], check=True, capture_output=True, text=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "uptime": subprocess.run(["uptime"], capture_output=True,
                                                                            text=True).stdout.strip()}}
    keep = os.environ.get("BENCH_KEEP_DB")
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_inv_bench") as db:
        if keep:
            print(f"database {db}", flush=True)
        env = {**django_env(db, Path(home)), "TRIPLEPLAY_CLOCK": "2026-02-01T02:00:00Z"}
        tripleplay("migrate", "-v", "0", env=env)
        runs = []
        for cohort, n in enumerate(args.sizes, 1):
            t0 = time.perf_counter()
            psql(db, SEED.format(cohort=cohort, n=n))
            psql(db, "VACUUM ANALYZE")
            seeded = time.perf_counter() - t0
            load_before = load()
            t0 = time.perf_counter()
            tripleplay("invoice-run", "--date", "2026-02-01", "--batch-size", str(args.batch_size),
                       "--processes", str(args.processes), "--threads", str(args.threads), "-v", "0", env=env,
                       capture_output=True, text=True)
            wall = time.perf_counter() - t0
            out = tripleplay("django", "shell", "-c", CHECK.format(cohort=cohort), env=env, capture_output=True,
                             text=True).stdout
            check = json.loads(next(line for line in out.splitlines() if line.startswith("CHECK "))[6:])
            run = {"customers": n, "seconds": round(wall, 2), "customers_per_second": round(n / wall),
                   "load_before": load_before, "load_after": load(), "seed_seconds": round(seeded, 1),
                   "batch_size": args.batch_size, "processes": args.processes, "threads": args.threads, "check": check}
            ok = (check["invoices"] == n and check["customers_with_two"] == 0 and check["gapless_all"]
                  and check["entries"] == 11 * n and check["entries_invoiced"] == check["entries"])
            run["check_ok"] = ok
            runs.append(run)
            print(json.dumps(run), flush=True)
        results["runs"] = runs
    results["pgbench"] = pgbench_baseline(args.pgbench_seconds)
    results["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(results, indent=2))
    return 0 if all(r["check_ok"] for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
