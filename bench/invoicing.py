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

Bundles (issue #13, the default; `--no-bundles` leaves them out to compare): before the first cohort
the catalog gets four products (TV and a sports pack: iptv; fibre: data; a voice line: voice, fee 0)
and the rule "TV + internet + voice, 20 % off" (two of three: 10 %); every customer has one account
with the four products from Jan 1, and its three fee entries are the periodic fees of those
assignments. The run then computes and posts three discount credits per customer (300, 200, 600:
20 % of 1500, 999 -> 199.8, 3000), shown as three more lines: 10 lines and 14 entries marked per
invoice.

Promotions (issue #13, the default with bundles; `--no-promotions` leaves them out): the catalog also
gets the promotion "Half price for three months" (50 % off the TV product's first three periods), and
every customer's TV subscription carries a grant of it from Jan 1 (a `PromotionGrant` row each), so
its January fee entry is what the charge run writes for a promoted period: 750 instead of 1500, its
description and `data.promotion` naming the promotion. The bundle discount then takes 20 % of the
promoted fee: 150 + 200 + 600 = 950 per customer. Checked: every customer's invoice has exactly one
line of 750 naming the promotion (and its discount's line of -150 names it too), the discounts sum to
950 each, and every invoice's total is the same exact
amount (`expected_total` below).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402

CATALOG = """
import django; django.setup()
from datetime import date
from tripleplay.bundles.services import create_rule
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
actor = Actor.system("bench")
for code, kind, service, fee in (("bench-tv", "main", "iptv", 1500), ("bench-sports", "addon", "iptv", 999),
                                 ("bench-fiber", "addon", "data", 3000), ("bench-voice", "addon", "voice", 0)):
    p = create_product(actor, code=code, name=code, kind=kind, currency="USD", services=[service])
    create_plan(actor, p, code=code + "-monthly", name=code, periodic_fee_minor=fee)
if {promotions}:
    from tripleplay.catalog.models import Product
    from tripleplay.promotions.services import create_promotion
    create_promotion(actor, code="bench-half-tv", name="Half price for three months",
                     product=Product.objects.get(code="bench-tv"), kind="price", periods=3, percent_off=50)
if {bundles}:
    create_rule(actor, name="TV + internet + voice, 20 % off", active_from=date(2026, 1, 1), tiers=[
        {{"services": ["iptv", "data", "voice"], "percent": "20"}},
        {{"services": ["iptv", "data", "voice"], "at_least": 2, "percent": "10"}}])
"""

SEED = """
WITH c AS (
  INSERT INTO customers_customer (name, email, phone, address_line1, address_line2, city, postal_code, country,
      currency, balance_model, billing_period, bill_cycle_day, tax_rate, status, status_reason, status_changed_at,
      created_at, metadata)
  SELECT 'bench {cohort} ' || g, '', '', g || ' Bench Street', '', 'Benchville', '12345', 'US', 'USD', 'postpaid',
         'monthly', 1, 20, 'active', '', '2026-01-01T08:00:00Z', '2026-01-01T08:00:00Z', '{{}}'
  FROM generate_series(1, {n}) g RETURNING id
), f AS (
  INSERT INTO ledger_funds (customer_id, currency, balance_minor, credit_limit_minor, held_minor)
  SELECT id, 'USD', {balance}, 1000000, 0 FROM c RETURNING customer_id  -- the sum of the ten entries below
), a AS (
  INSERT INTO customers_account (customer_id, login, device_id, phone_number, status, status_reason,
      status_changed_at, created_at, closed_at, metadata)
  SELECT id, NULL, NULL, NULL, 'active', '', '2026-01-01T08:00:00Z', '2026-01-01T08:00:00Z', NULL, '{{}}' FROM c
  RETURNING id, customer_id
), ap AS (
  INSERT INTO customers_accountproduct (account_id, product_id, plan_id, role, start_date, end_date, created_at,
      ended_at, end_reason)
  SELECT a.id, p.product_id, p.id, CASE WHEN pr.code = 'bench-tv' THEN 'main' ELSE 'addon' END, '2026-01-01', NULL,
         '2026-01-01T08:00:00Z', NULL, ''
  FROM a CROSS JOIN catalog_subscriptionplan p JOIN catalog_product pr ON pr.id = p.product_id
  WHERE pr.code LIKE 'bench-%'
  RETURNING id, account_id, product_id
), g AS (  -- the promotion on each TV subscription (none without promotions: the promotion is not there)
  INSERT INTO promotions_promotiongrant (actor_kind, actor_ref, actor_name, promotion_id, assignment_id, customer_id,
      source, since, granted_at, reminded_at, trial_closed_at)
  SELECT 'system', 'bench', 'bench', pm.id, ap.id, a.customer_id, 'operator', '2026-01-01', '2026-01-01T08:00:00Z',
         NULL, NULL
  FROM ap JOIN a ON a.id = ap.account_id JOIN promotions_promotion pm ON pm.product_id = ap.product_id
  WHERE pm.code = 'bench-half-tv'
), fees AS (
  INSERT INTO ledger_ledgerentry (actor_kind, actor_ref, actor_name, customer_id, account_id, kind, amount_minor,
      currency, balance_after_minor, description, reason, source, reference, service_type, idempotency_key,
      request_fingerprint, created_at, data)
  SELECT 'system', 'bench', 'bench', a.customer_id, a.id, 'charge', -v.amount, 'USD', 0, v.descr, '', 'subscription',
         '', v.service, 'bench:' || a.customer_id || ':' || v.k, 'bench',
         '2026-01-10T12:00:00Z'::timestamptz + v.k * interval '1 hour',
         jsonb_build_object('period_start', '2026-01-01', 'period_end', '2026-02-01', 'days', 31, 'of_days', 31,
                            'kind', 'periodic', 'period_index', 0, 'assignment', ap.id)
         || CASE WHEN v.promotion = '' THEN '{{}}'::jsonb ELSE jsonb_build_object('promotion', v.promotion) END
  FROM ap JOIN a ON a.id = ap.account_id JOIN catalog_product pr ON pr.id = ap.product_id
  JOIN (VALUES
    (1, 'bench-tv', {tv_fee}, 'iptv', 'TV Basic monthly: subscription fee{tv_label} 2026-01-01..2026-01-31',
     '{tv_promotion}'),
    (2, 'bench-sports', 999, 'iptv', 'Sports monthly: subscription fee 2026-01-01..2026-01-31', ''),
    (3, 'bench-fiber', 3000, 'data', 'Fiber 100 monthly: subscription fee 2026-01-01..2026-01-31', '')
  ) AS v(k, code, amount, service, descr, promotion) ON v.code = pr.code
)
INSERT INTO ledger_ledgerentry (actor_kind, actor_ref, actor_name, customer_id, kind, amount_minor, currency,
    balance_after_minor, description, reason, source, reference, service_type, idempotency_key, request_fingerprint,
    created_at, data)
SELECT 'system', 'bench', 'bench', f.customer_id, v.kind, v.amount, 'USD', 0, v.descr, '', v.source, '', v.service,
       'bench:' || f.customer_id || ':' || v.k, 'bench', '2026-01-10T12:00:00Z'::timestamptz + v.k * interval '1 hour',
       v.data::jsonb
FROM f CROSS JOIN (VALUES
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
from tripleplay.promotions.models import PromotionGrant
PROMOTION = "(Half price for three months)"
cohort = Customer.objects.filter(name__startswith="bench {cohort} ")
inv = Invoice.objects.filter(customer__in=cohort)
# The TV fee's line names the promotion; so does its bundle discount's line ("... on <fee>").
promoted = InvoiceLine.objects.filter(invoice__in=inv, description__contains=PROMOTION)
per = inv.values("customer_id").annotate(n=Count("id")).filter(n__gt=1).count()
allinv = Invoice.objects.aggregate(n=Count("id"), lo=Min("number"), hi=Max("number"))
print("CHECK " + json.dumps({{
  "customers": cohort.count(), "invoices": inv.count(), "customers_with_two": per,
  "lines": InvoiceLine.objects.filter(invoice__in=inv).count(),
  "gapless_all": allinv["hi"] - allinv["lo"] + 1 == allinv["n"],
  "entries": LedgerEntry.objects.filter(customer__in=cohort).count(),
  "entries_invoiced": InvoicedEntry.objects.filter(invoice__in=inv).count(),
  "sample_total_minor": inv.order_by("id").values_list("total_minor", flat=True).first(),
  "totals": sorted(set(inv.values_list("total_minor", flat=True)))[:5],
  "promotion_grants": PromotionGrant.objects.filter(customer__in=cohort).count(),
  "promoted_fee_lines": promoted.filter(amount_minor=750).count(),
  "promoted_discount_lines": promoted.filter(amount_minor=-150).count(),
  "invoices_with_promoted_fee": promoted.filter(amount_minor=750).values("invoice_id").distinct().count(),
  "bundle_entries": LedgerEntry.objects.filter(customer__in=cohort, source="bundle").count(),
  "bundle_sum_minor": sum(LedgerEntry.objects.filter(customer__in=cohort, source="bundle").values_list(
      "amount_minor", flat=True)),
}}))
"""


def psql(db: str, sql: str) -> None:
    from bench._common import PG

    subprocess.run(["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1",
                    "-q", "-c", sql], check=True, capture_output=True, text=True)


def lines(promotions: bool, bundles: bool) -> list[int]:
    """Each invoice's line amounts (minor units, charges positive): the three fees, the four calls on
    one line, the PPV purchase, the credit, and the bundle's three discounts (20 % of each fee,
    half-up: 999 -> 199.8 -> 200)."""
    fees = [750 if promotions else 1500, 999, 3000]
    discounts = [-((f * 20 + 50) // 100) for f in fees] if bundles else []
    return [*fees, 20 + 10 + 50 + 30, 499, -500, *discounts]


def expected_total(promotions: bool, bundles: bool) -> int:
    """Subtotal plus the sum of the lines' taxes at 20 %, each rounded half-up (away from zero for
    credits, docs/invoicing.md "Tax rule")."""
    amounts = lines(promotions, bundles)
    tax = sum((abs(a) * 20 + 50) // 100 * (1 if a > 0 else -1) for a in amounts)
    return sum(amounts) + tax


def _children_cpu() -> float:
    """CPU seconds (user + system) of this script's finished child processes: the invoice-run
    process's own Python work, less sensitive than wall time to a loaded machine (PostgreSQL's
    work is not in it)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--no-bundles", action="store_true", help="no bundle rule (the run as before issue #13)")
    ap.add_argument("--no-promotions", action="store_true", help="no promotion grant (bundles alone)")
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "uptime": subprocess.run(["uptime"], capture_output=True,
                                                                            text=True).stdout.strip()}}
    keep = os.environ.get("BENCH_KEEP_DB")
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_inv_bench") as db:
        if keep:
            print(f"database {db}", flush=True)
        env = {**django_env(db, Path(home)), "TRIPLEPLAY_CLOCK": "2026-02-01T02:00:00Z"}
        tripleplay("migrate", "-v", "0", env=env)
        bundles = not args.no_bundles
        promotions = not args.no_promotions
        tripleplay("django", "shell", "-c", CATALOG.format(bundles=bundles, promotions=promotions), env=env,
                   capture_output=True, text=True)
        per = 3 if bundles else 0  # discount entries per customer
        discounts = -sum(a for a in lines(promotions, bundles)[6:])  # minor units per customer
        total = expected_total(promotions, bundles)
        tv = 750 if promotions else 1500
        seed = dict(balance=-(tv + 999 + 3000 + 110 + 499) + 500 + 2000, tv_fee=tv,
                    tv_label=" (Half price for three months)" if promotions else "",
                    tv_promotion="Half price for three months" if promotions else "")
        runs = []
        for cohort, n in enumerate(args.sizes, 1):
            t0 = time.perf_counter()
            psql(db, SEED.format(cohort=cohort, n=n, **seed))
            psql(db, "VACUUM ANALYZE")
            seeded = time.perf_counter() - t0
            load_before = load()
            t0, cpu0 = time.perf_counter(), _children_cpu()
            tripleplay("invoice-run", "--date", "2026-02-01", "--batch-size", str(args.batch_size),
                       "--processes", str(args.processes), "--threads", str(args.threads), "-v", "0", env=env,
                       capture_output=True, text=True)
            wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
            out = tripleplay("django", "shell", "-c", CHECK.format(cohort=cohort), env=env, capture_output=True,
                             text=True).stdout
            check = json.loads(next(line for line in out.splitlines() if line.startswith("CHECK "))[6:])
            run = {"customers": n, "seconds": round(wall, 2), "customers_per_second": round(n / wall),
                   "run_cpu_seconds": round(cpu, 2),
                   "load_before": load_before, "load_after": load(), "seed_seconds": round(seeded, 1),
                   "batch_size": args.batch_size, "processes": args.processes, "threads": args.threads,
                   "bundles": bundles, "promotions": promotions, "expected_total_minor": total, "check": check}
            ok = (check["invoices"] == n and check["customers_with_two"] == 0 and check["gapless_all"]
                  and check["entries"] == (11 + per) * n and check["entries_invoiced"] == check["entries"]
                  and check["bundle_entries"] == per * n and check["bundle_sum_minor"] == discounts * n
                  and check["totals"] == [total] and check["promotion_grants"] == (n if promotions else 0)
                  and check["promoted_fee_lines"] == check["invoices_with_promoted_fee"] == (n if promotions else 0)
                  and check["promoted_discount_lines"] == (n if promotions and bundles else 0))
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
