"""bench/selfcare: the subscriber portal (/my/) on PostgreSQL, pages per second and latency
percentiles in two cases, next to the machine's pgbench baseline from the same run:

- worst case: --subscribers (50) closed-loop clients without think time (each asks for the next page
  as soon as the last one arrived: the server's saturation, not a day in production);
- realistic case: --think-subscribers (200) who each think --think (1-3) seconds, uniformly at random,
  before every page, as people reading a page do.

    .venv/bin/python bench/selfcare.py [--subscribers 50] [--think-subscribers 200] [--think 1-3]
                                      [--seconds 30] [--server gunicorn:4x8] [--cases worst,realistic]

Setup (not measured): a scratch PostgreSQL database, `tripleplay migrate`, one `tripleplay django
shell -c` that seeds a TV catalog (one main product, two self-service add-ons) and N prepaid
customers, each with funds, an account on the main product and an active portal login (invitation
link used, Django's default password hasher). No IPTV platform is configured, so the add-ons write
no provisioning commands (the outbox's cost is bench/provisioning's). `tripleplay serve` is started
and answers /healthz before the clock starts.

Before the load: the queries each page runs (Django's CaptureQueriesContext in a `tripleplay django
shell` against the same database, one subscriber; the same numbers selfcare/tests/test_queries.py
pins), reported as queries_per_page.

Measured, per case: one thread per subscriber, each with its own keep-alive httpx client and
cookies, 127.0.0.1 only, logs in (not timed; the clock starts when every subscriber is in), then
loops until --seconds have passed: the
overview, services, invoices, payments, usage pages, the add-on's confirmation page, the add-on
added (POST, CSRF token, funds checked and the first period charged), the services page again, the
removal's confirmation page and the removal (POST). Every request is timed as the client sees it
(redirects not followed: a POST's 302 is its answer). Reported: requests/s over the wall time,
p50/p95/p99/max per kind and overall, failures (any status other than the expected one), and
pgbench's single-row UPDATE TPS. The goal in issue 15: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.ppv import free_port, stop_server, wait_ready  # noqa: E402

PASSWORD = "bench-portal-pw"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def setup(env: dict, subscribers: int) -> dict:
    code = f"""
import json
import django; django.setup()
from django.db import transaction
from tripleplay.catalog.services import create_plan, create_product, update_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.subscriber_access.services import invite, set_password_with_token
actor = Actor.system("bench")
tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
tv_plan = create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
addons = []
for code in ("sports", "movies"):
    p = create_product(actor, code=code, name=code.title(), kind="addon", currency="USD", services=["iptv"])
    update_product(actor, p, self_service=True)
    addons.append(create_plan(actor, p, code=code + "-monthly", name=code + " monthly", periodic_fee_minor=500).pk)
accounts = []
for i in range({subscribers}):
    with transaction.atomic():
        c = create_customer(actor, name=f"bench {{i}}", currency="USD", balance_model="prepaid",
                            email=f"bench{{i}}@example.net")
        record_payment(actor, c, Money(10_000_000, "USD"), idempotency_key=f"bench-{{i}}")
        accounts.append(create_account(actor, c, main_plan=tv_plan, login=f"bench-{{i}}").pk)
        link = invite(actor, c).link
    set_password_with_token(link.rsplit("/", 1)[1], {PASSWORD!r})
print("SEED " + json.dumps({{"accounts": accounts, "addons": addons}}))
"""
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])


class Subscriber(threading.Thread):
    def __init__(self, i: int, base: str, account: int, addon: int, until: list, timings: dict, failures: dict,
                 lock: threading.Lock, *, think: tuple[float, float] = (0.0, 0.0), gate: threading.Event | None = None,
                 ready: threading.Semaphore | None = None):
        super().__init__(name=f"subscriber-{i}", daemon=True)
        self.i, self.base, self.account, self.addon = i, base, account, addon
        self.until, self.timings, self.failures, self.lock = until, timings, failures, lock
        self.think, self.gate, self.ready = think, gate, ready
        self.rng = random.Random(i)
        self.local: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    def pause(self) -> None:
        """The time a person takes to read a page (none in the worst case)."""
        low, high = self.think
        if high > 0:
            time.sleep(min(self.rng.uniform(low, high), max(0.0, self.until[0] - time.monotonic())))

    def request(self, client, kind: str, method: str, url: str, expect: int, **kwargs):
        self.pause()
        if time.monotonic() >= self.until[0]:
            return None
        t0 = time.perf_counter()
        try:
            r = client.request(method, url, **kwargs)
        except Exception:  # a timeout or a reset connection: counted, the loop goes on
            self.errors[kind + ":exception"] += 1
            return None
        self.local[kind].append((time.perf_counter() - t0) * 1000)
        if r.status_code != expect:
            self.errors[f"{kind}:{r.status_code}"] += 1
        return r

    def run(self):
        import httpx

        with httpx.Client(base_url=self.base, timeout=30, trust_env=False, follow_redirects=False) as c:
            try:  # every subscriber logs in at once before the clock: the password hash takes CPU, wait longer
                page = c.get("/my/login/", timeout=300)
                token = CSRF.search(page.text).group(1)
                r = c.post("/my/login/", data={"identity": f"bench-{self.i}", "password": PASSWORD,
                                               "csrfmiddlewaretoken": token}, timeout=300)
            except Exception:
                r = None
            finally:
                if self.ready is not None:
                    self.ready.release()
            if r is None or r.status_code != 302:
                self.errors["login"] += 1
                return self.publish()
            if self.gate is not None:
                self.gate.wait()
            if self.think[1] > 0:  # spread the first pages over one think time, as arrivals are
                time.sleep(self.rng.uniform(0, self.think[1]))
            while time.monotonic() < self.until[0]:
                for kind, url in (("overview", "/my/"), ("services", "/my/services/"), ("invoices", "/my/invoices/"),
                                  ("payments", "/my/payments/"), ("usage", "/my/usage/")):
                    self.request(c, kind, "GET", url, 200)
                confirm = self.request(c, "addon_confirm", "GET", f"/my/accounts/{self.account}/addons/{self.addon}/",
                                       200)
                if confirm is None or not CSRF.search(confirm.text):
                    continue
                form = {"csrfmiddlewaretoken": CSRF.search(confirm.text).group(1), "next": "/my/services/"}
                self.request(c, "addon_add", "POST", f"/my/accounts/{self.account}/addons/{self.addon}/add", 302,
                             data=form)
                services = self.request(c, "services", "GET", "/my/services/", 200)
                found = re.search(rf'/my/accounts/{self.account}/assignments/(\d+)/"', services.text if services else "")
                if not found:
                    if time.monotonic() < self.until[0]:
                        self.errors["no_removable_addon"] += 1
                    continue
                assignment = found.group(1)
                self.request(c, "remove_confirm", "GET", f"/my/accounts/{self.account}/assignments/{assignment}/", 200)
                self.request(c, "addon_remove", "POST", f"/my/accounts/{self.account}/assignments/{assignment}/remove",
                             302, data=form)
        self.publish()

    def publish(self):
        with self.lock:
            for k, v in self.local.items():
                self.timings[k].extend(v)
            for k, v in self.errors.items():
                self.failures[k] = self.failures.get(k, 0) + v


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"n": len(values), "p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1),
            "max": round(max(values), 1)}


QUERIES_CODE = """
import json
import django; django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
c = Client(HTTP_HOST="127.0.0.1")
assert c.post("/my/login/", {"identity": "bench-0", "password": PASSWORD}).status_code == 302
out = {}
for url in ("/my/", "/my/services/", "/my/invoices/", "/my/payments/", "/my/usage/", "/my/ppv/"):
    c.get(url)
    with CaptureQueriesContext(connection) as q:
        assert c.get(url).status_code == 200, url
    out[url] = len(q.captured_queries)
print("QUERIES " + json.dumps(out))
"""


def queries_per_page(env: dict) -> dict:
    """Queries per page for one subscriber, counted by Django against the bench's database."""
    out = tripleplay("django", "shell", "-c", f"PASSWORD = {PASSWORD!r}\n{QUERIES_CODE}", env=env,
                     capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("QUERIES "))[8:])


def run_case(base: str, seed: dict, subscribers: int, seconds: float, think: tuple[float, float]) -> dict:
    """One measured case: every subscriber logs in first, then the clock runs for ``seconds``."""
    timings: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = {}
    lock = threading.Lock()
    until = [float("inf")]
    gate, ready = threading.Event(), threading.Semaphore(0)
    clients = [Subscriber(i, base, seed["accounts"][i], seed["addons"][i % len(seed["addons"])], until, timings,
                          failures, lock, think=think, gate=gate, ready=ready) for i in range(subscribers)]
    for c in clients:
        c.start()
    for _ in clients:
        ready.acquire(timeout=300)
    until[0] = time.monotonic() + seconds
    t0 = time.perf_counter()
    gate.set()
    for c in clients:
        c.join(seconds + 120)
    wall = time.perf_counter() - t0
    everything = [v for values in timings.values() for v in values]
    return {"subscribers": subscribers, "think_seconds": list(think), "wall_seconds": round(wall, 2),
            "requests": len(everything),
            "requests_per_second": round(len(everything) / wall, 1) if wall else None,
            "all_ms": percentiles(everything), "by_kind_ms": {k: percentiles(v) for k, v in sorted(timings.items())},
            "failures": failures}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=50, help="worst case: clients without think time (default 50)")
    ap.add_argument("--think-subscribers", type=int, default=200,
                    help="realistic case: subscribers who think between pages (default 200)")
    ap.add_argument("--think", default="1-3", help="realistic case: think time range in seconds (default 1-3)")
    ap.add_argument("--cases", default="worst,realistic", help="which cases to run (default worst,realistic)")
    ap.add_argument("--seconds", type=float, default=30, help="measured time per case (default 30)")
    ap.add_argument("--server", default="gunicorn:4x8", help="[SERVER:]WORKERSxTHREADS (default gunicorn:4x8)")
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--port", type=int, default=0, help="the server's port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--db-prefix", default="tp_bench_selfcare")
    args = ap.parse_args()
    low, _, high = args.think.partition("-")
    think = (float(low), float(high or low))
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if (not 1 <= args.subscribers <= 500 or not 1 <= args.think_subscribers <= 1000 or not 1 <= args.seconds <= 600
            or not 0 <= think[0] <= think[1] <= 60 or not cases or set(cases) - {"worst", "realistic"}):
        raise SystemExit("out of bounds: subscribers 1..500, think-subscribers 1..1000, seconds 1..600, think "
                         "0..60 s, cases worst and/or realistic")
    server, _, size = args.server.rpartition(":")
    workers, threads = (int(x) for x in size.split("x"))
    results = {"benchmark": "selfcare", "server": args.server, "cases": {}}
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline(seconds=args.pgbench_seconds)
    print(results["pgbench"], flush=True)
    needed = max(args.subscribers if "worst" in cases else 1, args.think_subscribers if "realistic" in cases else 1)
    with tempfile.TemporaryDirectory() as home, scratch_database(args.db_prefix) as db:
        env = {**django_env(db, Path(home)), "TRIPLEPLAY_DEMO": "1"}
        env.pop("TRIPLEPLAY_DEBUG", None)
        tripleplay("migrate", "-v", "0", env=env)
        print(f"seeding {needed} subscribers ...", flush=True)
        seed = setup(env, needed)
        results["queries_per_page"] = queries_per_page(env)
        print(f"queries per page: {results['queries_per_page']}", flush=True)
        port = args.port or free_port()
        log_path = Path(home) / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "serve", "--host", "127.0.0.1", "--port",
                                     str(port), "--server", server or "gunicorn", "--workers", str(workers),
                                     "--threads", str(threads), "--no-access-log"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            wait_ready(proc, port, log_path)
            for case in cases:
                n, pause = (args.subscribers, (0.0, 0.0)) if case == "worst" else (args.think_subscribers, think)
                print(f"{case} case: {n} subscribers, think {pause[0]}-{pause[1]} s, {args.seconds} s ...", flush=True)
                results["cases"][case] = run_case(f"http://127.0.0.1:{port}", seed, n, args.seconds, pause)
        finally:
            stop_server(proc)
    failed = False
    for case, r in results["cases"].items():
        failed = failed or bool(r["failures"])
        print(f"{case}: {r['subscribers']} subscribers, think {r['think_seconds']} s: {r['requests']} requests in "
              f"{r['wall_seconds']} s = {r['requests_per_second']} pages/s; p95 {r['all_ms'].get('p95')} ms "
              f"(goal < 100 ms); failures {r['failures'] or 0}")
        for kind, p in r["by_kind_ms"].items():
            print(f"  {kind:>15}: n {p['n']:>6}  p50 {p['p50']:>7}  p95 {p['p95']:>7}  p99 {p['p99']:>7}  "
                  f"max {p['max']:>7} ms")
    print(f"pgbench {results['pgbench'].get('tps')} tps")
    print(json.dumps(results, indent=2))
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
