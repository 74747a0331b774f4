"""bench/provisioning: provisioning commands per second delivered to a simulated platform with 1, 2
and 4 worker processes on PostgreSQL, next to the machine's pgbench baseline from the same run.

    .venv/bin/python bench/provisioning.py [--accounts 2000] [--workers 1 2 4] [--threads 4] [--kind matrixstream]

Each round enqueues one command per account (an add-on added, or removed), starts N
`tripleplay worker --until-idle` processes, and reports two rates: delivered per second from the
first delivery to the last (finished_at of the commands: the steady rate), and commands over the
wall time from process start to exit (start-up of N Django processes included). A command is one
subscriber update on the platform over HTTP (one call: set packages). Everything runs on this
machine: the simulator on 127.0.0.1, PostgreSQL, the workers. Requests are bounded: accounts x rounds.
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
from bench._common import ROOT, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402


def setup(env: dict, sim_url: str, kind: str, accounts: int) -> None:
    code = f"""
import django; django.setup()
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_customer, create_account
from tripleplay.iptv.configuration import create_platform
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.iptv.models import ProvisioningCommand, Subscriber
actor = Actor.system("bench")
p = create_platform(actor, code="bench", name="bench", kind={kind!r}, base_url={sim_url!r}, username="tripleplay",
                    secret="secret", timeout_seconds="10")
cat = make_tv_catalog(actor, p)
for i in range({accounts}):
    c = create_customer(actor, name=f"bench {{i}}", currency="USD", balance_model="postpaid", credit_limit_minor=0)
    create_account(actor, c, main_plan=cat.tv_plan, login=f"bench-{{i}}")
print(ProvisioningCommand.objects.count(), "commands,", Subscriber.objects.count(), "subscribers")
"""
    tripleplay("django", "shell", "-c", code, env=env)


def enqueue_round(env: dict, add: bool) -> int:
    code = f"""
import django; django.setup()
from tripleplay.core.actors import Actor
from tripleplay.customers.models import Account
from tripleplay.customers.services import add_addon, remove_addon
from tripleplay.catalog.models import SubscriptionPlan
actor = Actor.system("bench"); plan = SubscriptionPlan.objects.get(code="sports-monthly")
n = 0
for a in Account.objects.order_by("id"):
    if {add!r}:
        add_addon(actor, a, plan)
    else:
        remove_addon(actor, a, a.products.get(product__code="sports", end_date__isnull=True).pk)
    n += 1
print(n)
"""
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def delivery_window(env: dict, since_id: int) -> tuple[int, float]:
    """Commands of this round delivered, and seconds from the first delivery to the last (the steady
    rate, without process start-up)."""
    code = ("import django; django.setup()\nfrom django.db.models import Count, Max, Min\n"
            "from tripleplay.iptv.models import ProvisioningCommand\n"
            f"r = ProvisioningCommand.objects.filter(id__gt={since_id}, status='done').aggregate("
            "n=Count('id'), a=Min('finished_at'), b=Max('finished_at'))\n"
            "print(r['n'], (r['b'] - r['a']).total_seconds())")
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    n, seconds = out.strip().splitlines()[-1].split()
    return int(n), float(seconds)


def last_command_id(env: dict) -> int:
    code = ("import django; django.setup()\nfrom django.db.models import Max\n"
            "from tripleplay.iptv.models import ProvisioningCommand\n"
            "print(ProvisioningCommand.objects.aggregate(m=Max('id'))['m'] or 0)")
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def pending(env: dict) -> int:
    code = ("import django; django.setup()\nfrom tripleplay.iptv.models import Subscriber\n"
            "print(Subscriber.objects.filter(pending_command__isnull=False).count())")
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def run_round(env: dict, workers: int, threads: int, timeout: float) -> float:
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--until-idle", "--no-jobs",
                               "--threads", str(threads), "--batch-size", "50", "--name", f"bench-{i}"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(workers)]
    try:
        for p in procs:
            p.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    elapsed = time.monotonic() - started
    bad = [p.stderr.read()[-2000:] for p in procs if p.returncode]
    if bad:
        raise SystemExit(f"a worker failed: {bad[0]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--threads", type=int, default=4, help="threads per worker process")
    ap.add_argument("--kind", default="matrixstream", help="which simulator/adapter")
    ap.add_argument("--timeout", type=float, default=600, help="give up on a round after this many seconds")
    args = ap.parse_args()

    from tripleplay.simulators.testing import running_simulator

    results = {"accounts": args.accounts, "kind": args.kind, "threads_per_worker": args.threads,
               "cpus": os.cpu_count(), "rounds": []}
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline()
    print(results["pgbench"])
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_bench_prov") as db, \
            running_simulator(args.kind) as sim:
        env = django_env(db, Path(home))
        tripleplay("migrate", "-v", "0", env=env)
        print(f"setting up {args.accounts} accounts ...", flush=True)
        setup(env, sim.url, args.kind, args.accounts)
        run_round(env, 4, args.threads, args.timeout)  # deliver the sign-ups (warm-up, not measured)
        add = True
        for n in args.workers:
            since = last_command_id(env)
            commands = enqueue_round(env, add)
            add = not add
            elapsed = run_round(env, n, args.threads, args.timeout)
            left = pending(env)
            delivered, window = delivery_window(env, since)
            rate, steady = commands / elapsed, delivered / window if window else float("nan")
            results["rounds"].append({"workers": n, "commands": commands, "delivered": delivered,
                                      "wall_seconds": round(elapsed, 2), "wall_per_second": round(rate, 1),
                                      "delivery_seconds": round(window, 2), "delivered_per_second": round(steady, 1),
                                      "left_pending": left})
            print(f"{n} worker(s) x {args.threads} threads: {delivered}/{commands} commands delivered at "
                  f"{steady:.0f}/s (first to last delivery: {window:.2f} s); wall time with process start-up "
                  f"{elapsed:.2f} s = {rate:.0f}/s; left pending: {left}", flush=True)
        results["simulator_stats"] = sim.state()["stats"]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
