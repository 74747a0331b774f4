"""bench/ppv: real-time pay-per-view over HTTP on PostgreSQL: authorize + confirm pairs per second and
their latency, with 32 concurrent platform clients against the production server (`tripleplay serve`,
granian or gunicorn, configured as docs/operations.md recommends), next to the machine's pgbench
baseline from the same run.

    .venv/bin/python bench/ppv.py [--accounts 1000] [--clients 32] [--seconds 20]
                                  [--servers granian:2x8 gunicorn:4x8] [--client wrk|raw|httpx] [--access-log]

Server settings are SERVER:WORKERSxTHREADS (a bare WORKERSxTHREADS is gunicorn), each started as
`tripleplay serve --server SERVER --workers W --threads T --no-access-log` (``--access-log`` keeps it).
Options after commas measure the earlier request paths: ``no-fast-path`` (every call through Django's
middleware and ninja) and ``no-db-functions`` (the Python/ORM path on PostgreSQL too), e.g.
``gunicorn:4x8,no-fast-path,no-db-functions``.

Setup (not measured): a scratch PostgreSQL database, `tripleplay migrate`, then one `tripleplay django
shell -c` that seeds one platform, one PPV event (price 100) and N prepaid accounts, each with funds, a
TV product (hence a subscriber on the platform) and the PPV add-on. For each server setting
(WORKERSxTHREADS) `tripleplay serve` is started, warmed up (every worker process answers before the
clock starts), and then exactly --clients concurrent clients (asyncio tasks, one keep-alive HTTP/1.1
connection each, 127.0.0.1 only) each run authorize -> confirm pairs for a fresh transaction id on a
random subscriber, until --pairs pairs are done or --seconds have passed. Reported: pairs/s and
authorizations/s over the measured wall time, p50/p95/p99/max latency of authorize and of confirm as
seen by the client, failures (anything but approved then confirmed), the load generator's own CPU
(it shares the machine's cores with the server and PostgreSQL), and pgbench's single-row UPDATE TPS.

The load generator (``--client wrk``, the default when the wrk command exists; Debian package wrk,
installed by scripts/_system_deps.sh) is wrk with bench/ppv_wrk.lua: C and epoll, one keep-alive
connection per client, the Lua script issuing the pairs and timing each authorize and each confirm
(matched by transaction id). It costs a few percent of one core at these rates, where a Python client
costs a tenth of the machine or more, taken from the server being measured; the run is time-bound
(--seconds; --pairs bounds the Python clients only). ``--client raw`` speaks HTTP/1.1 over asyncio
streams; ``--client httpx`` uses httpx.AsyncClient (the most CPU per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import ROOT, _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402

EVENT, PRICE = "bench-event", 100


def setup(env: dict, sim_url: str, accounts: int, funds_minor: int) -> dict:
    """Seed the database; returns {"token": ..., "subscribers": [...]}."""
    code = f"""
import json
import django; django.setup()
from django.db import transaction
from tripleplay import clock
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.iptv.models import PpvEvent, Subscriber
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
actor = Actor.system("bench")
p = create_platform(actor, code="bench", name="bench", kind="matrixstream", base_url={sim_url!r},
                    username="tripleplay", secret="secret", timeout_seconds="10")
cat = make_tv_catalog(actor, p)
PpvEvent.objects.create(platform=p, external_id={EVENT!r}, title="Bench Night", price_minor={PRICE}, currency="USD",
                        first_seen_at=clock.now(), updated_at=clock.now())
ppv = create_product(actor, code="ppv", name="Pay-per-view", kind="addon", currency="USD", services=["ppv"])
ppv_plan = create_plan(actor, ppv, code="ppv-free", name="PPV enabled", periodic_fee_minor=0)
for i in range({accounts}):
    with transaction.atomic():
        c = create_customer(actor, name=f"bench {{i}}", currency="USD", balance_model="prepaid")
        record_payment(actor, c, Money({funds_minor}, "USD"), idempotency_key=f"bench-{{i}}")
        create_account(actor, c, main_plan=cat.tv_plan, addon_plans=[ppv_plan], login=f"bench-{{i}}")
subs = list(Subscriber.objects.filter(platform=p).values_list("external_id", flat=True))
print("SEED " + json.dumps({{"token": issue_inbound_token(actor, p), "subscribers": subs}}))
"""
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat (Linux)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_percent(since: tuple[float, float]) -> float | None:
    busy, total = cpu_times()
    return round(100 * (busy - since[0]) / (total - since[1]), 1) if total > since[1] else None


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from "state" on (the name may hold spaces)


def process_cpu(server_pid: int, database: str) -> dict:
    """CPU seconds so far of the server (gunicorn master and workers) and of the PostgreSQL backends
    serving ``database`` (their process title names it), from /proc (Linux)."""
    server = postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is None:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
        if int(entry.name) == server_pid or int(fields[1]) == server_pid:
            server += cpu
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            postgres += cpu
    return {"server": server, "postgres": postgres}


def wait_for_quiet(max_seconds: float, threshold: float = 15.0) -> float | None:
    """Wait (bounded) until the machine is nearly idle (other benchmarks, test runs), so that the
    figures are this machine's and not the neighbours'. Returns the last busy % seen."""
    deadline, seen = time.monotonic() + max_seconds, None
    while True:
        t = cpu_times()
        time.sleep(2)
        seen = busy_percent(t)
        if seen is None or seen < threshold or time.monotonic() >= deadline:
            return seen
        print(f"  machine busy ({seen}% CPU used by other processes); waiting ...", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the load generator -----------------------------------------------------------------------------


class RawClient:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for these JSON POSTs."""

    def __init__(self, port: int, token: str):
        self.port, self.reader, self.writer = port, None, None
        self.head = (f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                     "Content-Type: application/json\r\nConnection: keep-alive\r\n").encode()

    async def post(self, path: str, payload: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = json.dumps(payload).encode()
        self.writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.head
                          + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
        data = await self.reader.readexactly(length)
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers.items()):
            await self.close()
        return status, json.loads(data) if data else {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


class HttpxClient:
    def __init__(self, port: int, token: str):
        import httpx

        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False,
                                      headers={"Authorization": f"Bearer {token}"},
                                      limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    async def post(self, path: str, payload: dict) -> tuple[int, dict]:
        r = await self.http.post(path, json=payload)
        return r.status_code, r.json()

    async def close(self) -> None:
        await self.http.aclose()


async def load(port: int, token: str, subscribers: list[str], *, clients: int, pairs: int, seconds: float,
               client_kind: str, seed: int) -> dict:
    make = RawClient if client_kind == "raw" else HttpxClient
    rng = random.Random(seed)
    auth_ms: list[float] = []
    conf_ms: list[float] = []
    failures: dict[str, int] = {}
    started = [0]
    deadline = time.monotonic() + seconds

    async def one(conn) -> None:
        while started[0] < pairs and time.monotonic() < deadline:
            started[0] += 1
            txn, sub = uuid.uuid4().hex, rng.choice(subscribers)
            t0 = time.perf_counter()
            status, answer = await conn.post("/api/v1/ppv/authorize",
                                              {"transaction_id": txn, "subscriber": sub, "event_id": EVENT})
            t1 = time.perf_counter()
            auth_ms.append((t1 - t0) * 1000)
            if status != 200 or answer.get("result") != "approved":
                key = f"authorize {status} {answer.get('code') or answer.get('error', {}).get('code')}"
                failures[key] = failures.get(key, 0) + 1
                continue
            status, answer = await conn.post("/api/v1/ppv/confirm", {"transaction_id": txn})
            conf_ms.append((time.perf_counter() - t1) * 1000)
            if status != 200 or answer.get("result") != "confirmed":
                key = f"confirm {status} {answer.get('code') or answer.get('error', {}).get('code')}"
                failures[key] = failures.get(key, 0) + 1

    conns = [make(port, token) for _ in range(clients)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(one(c) for c in conns))
    finally:
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        for c in conns:
            await c.close()
    return {"wall": wall, "auth_ms": auth_ms, "conf_ms": conf_ms, "failures": failures, "client_cpu_s": cpu}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": round(pct(ms, 50), 2), "p95": round(pct(ms, 95), 2), "p99": round(pct(ms, 99), 2),
            "max": round(max(ms), 2) if ms else None, "mean": round(statistics.fmean(ms), 2) if ms else None}


# -- the server ----------------------------------------------------------------------------------------


# Setting options (SERVER:WxT,OPTION,...): the earlier request paths, to measure each step's effect.
OPTIONS = {"no-fast-path": ("TRIPLEPLAY_PPV_FAST_PATH", "0"), "no-db-functions": ("TRIPLEPLAY_PPV_DB_FUNCTIONS", "0")}


def start_server(env: dict, server: str, workers: int, threads: int, log, access_log: bool = False,
                 port: int = 0) -> tuple[subprocess.Popen, int]:
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--server", server, "--workers", str(workers), "--threads", str(threads),
                             *([] if access_log else ["--no-access-log"])],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, port


def run_wrk(port: int, token: str, subscribers_file: Path, *, clients: int, seconds: float) -> dict:
    """One wrk run of bench/ppv_wrk.lua; the client's CPU from its rusage."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
                        "-s", str(ROOT / "bench" / "ppv_wrk.lua"), f"http://127.0.0.1:{port}", "--", token,
                        str(subscribers_file), EVENT, out.name], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = json.loads(Path(out.name).read_text())
    failures = dict(r["failures"])
    for key in ("socket_errors", "non_2xx"):
        if r[key]:
            failures[key] = r[key]
    return {"wall": r["seconds"], "auth": r["authorize_ms"], "conf": r["confirm_ms"], "failures": failures,
            "client_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "process_wall": wall}


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_ready(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no answer from the server within {timeout} s:\n{log_path.read_text()[-3000:]}")


def run_setting(env: dict, seed: dict, server: str, workers: int, threads: int, args, log_dir: Path,
                database: str, options: tuple[str, ...] = ()) -> dict:
    log_path = log_dir / f"serve-{server}-{workers}x{threads}{''.join('-' + o for o in options)}.log"
    idle_before = wait_for_quiet(args.wait_quiet)
    env = {**env, **dict(OPTIONS[o] for o in options)}
    with open(log_path, "wb") as log:
        proc, port = start_server(env, server, workers, threads, log, access_log=args.access_log, port=args.port)
    subscribers_file = log_dir / "subscribers.txt"
    subscribers_file.write_text("\n".join(seed["subscribers"]) + "\n")
    try:
        wait_ready(proc, port, log_path)
        # Warm-up: enough pairs on all clients that every worker process has loaded the app and
        # opened its database connections (the servers import the app lazily in each worker).
        if args.client == "wrk":
            run_wrk(port, seed["token"], subscribers_file, clients=args.clients, seconds=3)
        else:
            asyncio.run(load(port, seed["token"], seed["subscribers"], clients=args.clients,
                             pairs=max(args.clients * 8, workers * threads * 4), seconds=30, client_kind=args.client,
                             seed=1))
        cpu0, procs0, load0 = cpu_times(), process_cpu(proc.pid, database), os.getloadavg()[0]
        if args.client == "wrk":
            w = run_wrk(port, seed["token"], subscribers_file, clients=args.clients, seconds=args.seconds)
            auth, conf, wall, failures, client_cpu = w["auth"], w["conf"], w["wall"], w["failures"], w["client_cpu_s"]
        else:
            r = asyncio.run(load(port, seed["token"], seed["subscribers"], clients=args.clients, pairs=args.pairs,
                                 seconds=args.seconds, client_kind=args.client, seed=2))
            auth, conf, wall = summary(r["auth_ms"]), summary(r["conf_ms"]), r["wall"]
            failures, client_cpu = r["failures"], r["client_cpu_s"]
        machine_busy, procs1 = busy_percent(cpu0), process_cpu(proc.pid, database)
    finally:
        stop_server(proc)
    pairs, authorizations = conf["n"], auth["n"]
    requests = authorizations + pairs
    cpu_ms = {k: round(1000 * (procs1[k] - procs0[k]) / max(1, requests), 3) for k in procs0}
    cpu_ms["load_generator"] = round(1000 * client_cpu / max(1, requests), 3)
    return {"server": server, "workers": workers, "threads": threads, "options": list(options),
            "clients": args.clients, "client": args.client,
            "access_log": args.access_log, "pairs": pairs, "authorizations": authorizations,
            "wall_seconds": round(wall, 2), "pairs_per_second": round(pairs / wall, 1),
            "authorizations_per_second": round(authorizations / wall, 1),
            "requests_per_second": round(requests / wall, 1), "authorize_ms": auth, "confirm_ms": conf,
            "failures": failures, "load_generator_cpu_percent": round(100 * client_cpu / wall, 1),
            "cpu_ms_per_request": cpu_ms, "machine_cpu_busy_percent": machine_busy,
            "machine_busy_before_percent": idle_before, "loadavg_before": round(load0, 2),
            "loadavg_after": round(os.getloadavg()[0], 2)}


def table(rounds: list[dict], pgbench: dict) -> str:
    head = (f"{'server':>44} {'pairs':>6} {'pairs/s':>8} {'auth/s':>7} {'req/s':>7} | {'authorize p50/p95/p99 ms':>25} | "
            f"{'confirm p50/p95/p99 ms':>23} | {'fail':>4} {'gen CPU':>7} {'box CPU':>7}")
    rows = [head, "-" * len(head)]
    for r in rounds:
        a, c = r["authorize_ms"], r["confirm_ms"]
        name = f"{r['server']}:{r['workers']}x{r['threads']}" + "".join("," + o for o in r.get("options", []))
        rows.append(f"{name:>44} {r['pairs']:>6} {r['pairs_per_second']:>8.0f} "
                    f"{r['authorizations_per_second']:>7.0f} {r['requests_per_second']:>7.0f} | "
                    f"{a['p50']:>7.1f} {a['p95']:>7.1f} {a['p99']:>7.1f}   | {c['p50']:>6.1f} {c['p95']:>6.1f} "
                    f"{c['p99']:>6.1f}    | {sum(r['failures'].values()):>4} {r['load_generator_cpu_percent']:>6.0f}% "
                    f"{r['machine_cpu_busy_percent'] or 0:>6.0f}%")
    rows.append(f"pgbench simple-update baseline (same run): {pgbench.get('tps')} TPS "
                f"({pgbench.get('clients')} clients, {pgbench.get('seconds')} s)")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=32, help="concurrent platform clients (default 32)")
    ap.add_argument("--pairs", type=int, default=10_000,
                    help="authorize+confirm pairs per setting (a bound for the Python clients; wrk runs --seconds)")
    ap.add_argument("--seconds", type=float, default=20, help="time bound per setting")
    ap.add_argument("--servers", nargs="+", default=["granian:2x8", "gunicorn:4x8"],
                    help="server settings [SERVER:]WORKERSxTHREADS to measure (default: granian:2x8 gunicorn:4x8)")
    ap.add_argument("--client", choices=["wrk", "raw", "httpx"], default="wrk" if shutil.which("wrk") else "raw",
                    help="load generator (default wrk when installed, else raw)")
    ap.add_argument("--access-log", action="store_true", help="keep the server's access log on")
    ap.add_argument("--db-prefix", default="tp_bench_ppv", help="name prefix of the scratch PostgreSQL database")
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--wait-quiet", type=float, default=60,
                    help="before each measurement, wait up to this many seconds for the machine to be idle")
    ap.add_argument("--keep-logs", help="copy the servers' logs into this directory")
    ap.add_argument("--port", type=int, default=0,
                    help="the server's port on 127.0.0.1 and the simulator's the next one (default: any free ones)")
    args = ap.parse_args()
    if not 1 <= args.clients <= 256 or not 1 <= args.pairs <= 200_000 or not 1 <= args.accounts <= 20_000:
        raise SystemExit("out of bounds: clients 1..256, pairs 1..200000, accounts 1..20000")
    settings = []
    for text in args.servers:
        spec, *options = text.lower().split(",")
        server, _, size = spec.rpartition(":")
        if (server or "gunicorn") not in ("gunicorn", "granian") or set(options) - set(OPTIONS):
            raise SystemExit(f"unknown server or option in {text!r}: gunicorn or granian; {', '.join(OPTIONS)}")
        settings.append((server or "gunicorn", *(int(x) for x in size.split("x")), tuple(options)))
    if args.client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); or use --client raw")

    from tripleplay.simulators.testing import running_simulator

    results = {"benchmark": "ppv", "accounts": args.accounts, "clients": args.clients, "cpus": os.cpu_count(),
               "price_minor": PRICE, "rounds": []}
    wait_for_quiet(args.wait_quiet)
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline(seconds=args.pgbench_seconds)
    print(results["pgbench"], flush=True)
    rounds = len(settings) * (max(args.pairs, int(3000 * (args.seconds + 3))) + 2000)  # wrk is time-bound
    funds = PRICE * (rounds // max(1, args.accounts) + 1) * 20
    with tempfile.TemporaryDirectory() as home, scratch_database(args.db_prefix) as db, \
            running_simulator("matrixstream", port=args.port + 1 if args.port else 0) as sim:
        env = {**django_env(db, Path(home)), "TRIPLEPLAY_DEMO": "1"}
        env.pop("TRIPLEPLAY_DEBUG", None)
        tripleplay("migrate", "-v", "0", env=env)
        print(f"seeding {args.accounts} accounts ...", flush=True)
        t0 = time.monotonic()
        seed = setup(env, sim.url, args.accounts, funds)
        _pg("psql", "-q", "-d", db, "-c", "VACUUM ANALYZE")  # statistics for the planner, as in production
        print(f"  {len(seed['subscribers'])} subscribers in {time.monotonic() - t0:.1f} s", flush=True)
        for server, workers, threads, options in settings:
            print(f"serve --server {server} --workers {workers} --threads {threads} {' '.join(options)}: "
                  f"{args.clients} clients ({args.client}) ...", flush=True)
            r = run_setting(env, seed, server, workers, threads, args, Path(home), db, options)
            results["rounds"].append(r)
            print(f"  {r['pairs']} pairs in {r['wall_seconds']} s = {r['pairs_per_second']} pairs/s, "
                  f"{r['authorizations_per_second']} authorizations/s; authorize p99 {r['authorize_ms']['p99']} ms, "
                  f"confirm p99 {r['confirm_ms']['p99']} ms; failures {r['failures'] or 0}; CPU ms per request "
                  f"{r['cpu_ms_per_request']}; machine busy {r['machine_cpu_busy_percent']}%", flush=True)
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            for log in Path(home).glob("serve-*.log"):
                (Path(args.keep_logs) / log.name).write_bytes(log.read_bytes())
    results["load_generator_rusage_cpu_s"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_utime, 1)
    print()
    print(table(results["rounds"], results["pgbench"]))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
