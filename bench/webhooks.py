"""bench/webhooks: webhook deliveries per second on PostgreSQL, with 1, 2 and 4 `tripleplay webhook-worker`
processes, next to the machine's pgbench baseline from the same run. Aim (issue 17): 500 deliveries/s.

    .venv/bin/python bench/webhooks.py [--events 5000] [--workers 1 2 4] [--threads 8] [--batch-size 100]

Each round writes ``--events`` events (set-based, one pending delivery each to one endpoint), starts N
worker processes and waits until every delivery succeeded. The receiver is the tests' receiver process
(tripleplay/webhooks/tests/receiver.py, a threaded http.server) that verifies every request with the
reference `standardwebhooks` package and answers 204. Two rates: deliveries per second from the first
attempt's start to the last attempt's end (the steady rate), and over the wall time from process start
to the end (start-up of N Django processes included). Everything runs on this machine: receiver, PostgreSQL, workers.
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
from bench._common import ROOT, django_env, pg_url, pgbench_baseline, scratch_database, tripleplay  # noqa: E402

RECEIVER = ROOT / "tripleplay" / "webhooks" / "tests" / "receiver.py"


def shell(env: dict, code: str) -> str:
    out = tripleplay("django", "shell", "-c", "import django; django.setup()\n" + code, env=env,
                     capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1] if out.strip() else ""


def setup(env: dict, port: int) -> str:
    """The endpoint; returns its secret."""
    return shell(env, f"""
from tripleplay.core.actors import Actor
from tripleplay.webhooks.services import create_endpoint
made = create_endpoint(Actor.system("bench"), url="http://127.0.0.1:{port}/hook", event_types=["*"])
print(made.secret)
""")


def write_events(env: dict, n: int) -> int:
    """n events with their deliveries, in one transaction; returns the last delivery id before them."""
    return int(shell(env, f"""
from django.db import transaction
from django.db.models import Max
from tripleplay.webhooks.events import NewEvent, emit
from tripleplay.webhooks.models import Delivery
before = Delivery.objects.aggregate(m=Max("id"))["m"] or 0
with transaction.atomic():
    for start in range(0, {n}, 1000):
        emit("payment.recorded", [NewEvent({{"customer_id": i, "amount_minor": 100 + i, "currency": "USD"}})
                                  for i in range(start, min({n}, start + 1000))])
print(before)
"""))


def state(db: str, since: int) -> tuple[int, int, float]:
    """(succeeded, not yet succeeded, seconds from the first attempt's start to the last one's end) of the
    round's deliveries; read with psycopg here, not with a Django process that would compete for the CPUs."""
    import psycopg

    with psycopg.connect(pg_url(db)) as conn:
        ok, left = conn.execute("SELECT count(*) FILTER (WHERE status = 'succeeded'), "
                                "count(*) FILTER (WHERE status <> 'succeeded') FROM webhooks_delivery WHERE id > %s",
                                (since,)).fetchone()
        span = conn.execute("SELECT EXTRACT(EPOCH FROM max(started_at + duration_ms * interval '1 millisecond') "
                            "- min(started_at)) FROM webhooks_deliveryattempt WHERE delivery_id > %s",
                            (since,)).fetchone()[0]
    return int(ok), int(left), float(span or 0)


def run_round(env: dict, db: str, workers: int, threads: int, batch: int, since: int, timeout: float) -> float:
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "webhook-worker", "--threads", str(threads),
                               "--batch-size", str(batch), "--poll-seconds", "0.05"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT) for _ in range(workers)]
    try:
        while time.monotonic() - t0 < timeout:
            if state(db, since)[1] == 0:
                break
            time.sleep(0.2)
        return time.monotonic() - t0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--threads", type=int, default=8, help="parallel requests per worker process")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=600, help="give up on a round after this many seconds")
    args = ap.parse_args()

    from tripleplay.core.testing import free_port

    results = {"events": args.events, "threads_per_worker": args.threads, "batch_size": args.batch_size,
               "cpus": os.cpu_count(), "rounds": []}
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline(seconds=args.pgbench_seconds)
    print(results["pgbench"], flush=True)
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_bench_webhooks") as db:
        env = django_env(db, Path(home))
        tripleplay("migrate", "-v", "0", env=env)
        port = free_port()
        secret = setup(env, port)
        log = Path(home) / "receiver.jsonl"
        receiver = subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(port), "--secret", secret,
                                     "--log", str(log)], stdout=subprocess.PIPE, text=True)
        try:
            assert receiver.stdout.readline().strip() == "ready"
            for n in args.workers:
                since = write_events(env, args.events)
                elapsed = run_round(env, db, n, args.threads, args.batch_size, since, args.timeout)
                ok, left, span = state(db, since)
                steady = ok / span if span else float("nan")
                results["rounds"].append({"workers": n, "deliveries": ok, "left": left, "wall_seconds": round(elapsed, 2),
                                          "wall_per_second": round(ok / elapsed, 1),
                                          "delivery_seconds": round(span, 2), "delivered_per_second": round(steady, 1)})
                print(f"{n} worker(s) x {args.threads} threads: {ok}/{args.events} delivered at {steady:.0f}/s "
                      f"(first to last attempt {span:.2f} s); wall with start-up {elapsed:.2f} s = "
                      f"{ok / elapsed:.0f}/s; left: {left}", flush=True)
            bad = sum(1 for line in log.read_text().splitlines() if '"verified": true' not in line)
            results["receiver_unverified"] = bad
        finally:
            receiver.terminate()
            receiver.wait(10)
    print(f"pgbench simple-update baseline (same run): {results['pgbench'].get('tps')} TPS")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
