"""bench/radius: the speed of AAA through FreeRADIUS (issue #14): Access-Requests and Interim-Updates per
second, p50 and p99, sent through FreeRADIUS with rlm_rest to tripleplay on PostgreSQL, beside the stock
ISP set-up answering the same requests in the same run (FreeRADIUS with rlm_sql on PostgreSQL, its own
schema and default queries) and pgbench.

    .venv/bin/python bench/radius.py [--users 1000] [--seconds 15] [--inflight 32] [--interim-rate 1000]
                                     [--server granian:2x8] [--threads 16] [--base-port 20500]
                                     [--targets tripleplay stock files]

Setup (not measured): two scratch PostgreSQL databases. One for tripleplay (`tripleplay migrate`, then
--users prepaid subscribers, each with funds, an internet product whose data is priced per volume, a
login and an internet password, and one MikroTik NAS at 127.0.0.1), served by `tripleplay serve` (as
bench/ppv does) and asked by Debian's FreeRADIUS running the configuration `tripleplay radius-config`
renders (its thread pool and every rlm_rest pool sized --threads). One for the stock set-up: FreeRADIUS
3.2's own PostgreSQL schema (/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql), a
radcheck Cleartext-Password row per user and a group "fiber" with the same reply attributes
(radusergroup, radgroupreply), asked by a second FreeRADIUS with Debian's rlm_sql module, dialect
postgresql, its default queries.conf, in the sql calls of the stock default site (authorize, post-auth,
accounting; acct_unique as policy.d/accounting has it). Both FreeRADIUS have the same thread count,
max_requests 65536 and a static client 127.0.0.1 (tripleplay's through its dynamic-client lookup,
kept for the whole run). `--targets ... files` adds a third FreeRADIUS, the stock set-up with the `files`
module instead of rlm_sql (a users file, accounting not stored): FreeRADIUS's own cost, the ceiling of
any back end. Tripleplay's FreeRADIUS logs in to PostgreSQL as tripleplay's own (owner) login, not as the
SQL path's role (D300, D301): the functions' SECURITY DEFINER and pinned search_path cost the same whoever
calls them, and the bench needs no CREATEROLE or role clean-up.

The load generator is this process: asyncio UDP, --inflight sockets each with one request in flight
(so --inflight requests in flight in all), each packet built once per user with pyrad and then re-signed
per request (a new Identifier and Request Authenticator, the User-Password encrypted again, the
Message-Authenticator or the Accounting authenticator computed), timing each request from its send
(or, paced, from its scheduled send: no coordinated omission) to its answer. A request unanswered
within 5 s counts as lost. For each target, in order:

1. Access-Request (PAP) for random users for --seconds, as fast as the answers come: Access-Accept
   expected (tripleplay: by default one rlm_sql statement, radius_sql_authorize_pap, FreeRADIUS's pap
   checking the password, post-auth appending the login to FreeRADIUS's detail file, which the logins
   reader beside FreeRADIUS records in batches, D272, D290, D291; with --env TRIPLEPLAY_RADIUS_SQL=0
   one rlm_rest call, authorize checking the PAP password and recording the login, D240; two,
   authorize + post-auth, with also --env TRIPLEPLAY_RADIUS_PAP_CHECK=0; stock: three SELECTs and the
   radpostauth INSERT). After it, the logins still in the file and how long the reader took to
   record them are reported.
2. Accounting-Request Start for every user's session (timed, reported, not the aim).
3. Interim-Update round-robin over the sessions for --seconds, as fast as the answers come; each
   reports 100 KB more (tripleplay charges it in real time, committed before the Accounting-Response:
   0.01 per 100 KB; stock rlm_sql updates radacct and charges nothing).
4. Interim-Update paced at --interim-rate offered for --seconds (the aim: p99 under 50 ms at 1,000/s).

Reported: requests/s, p50/p99/max latency, lost and wrong answers, the ratio to stock, the load
generator's CPU, the machine's CPU busy %, pgbench's single-row UPDATE TPS from the same run, and
(tripleplay) the exact money charged against the interims answered. Everything binds 127.0.0.1 on
ports from --base-port (HTTP +0, tripleplay's FreeRADIUS +10/+11, stock +20/+21, files +30/+31), runs
bounded in time, and is stopped (and the databases dropped) on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import os
import random
import secrets as token_source
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import PG, ROOT, _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.ppv import busy_percent, cpu_times, stop_server, wait_for_quiet, wait_ready  # noqa: E402

SECRET = "bench-nas-secret"
PASSWORD = "bench-pw-1"
INTERIM_BYTES = (60_000, 40_000)  # input, output octets more per Interim-Update: 100 KB, 0.01 charged
PRICE_PER_INTERIM_MINOR = 1
STOCK_SCHEMA = Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql")
STOCK_SQL_MODULE = Path("/etc/freeradius/3.0/mods-available/sql")
REPLY = {"Mikrotik-Rate-Limit": "20000k/100000k", "Framed-Pool": "pool-fiber", "Session-Timeout": "86400",
         "Idle-Timeout": "600", "Acct-Interim-Interval": "300"}
TIMEOUT = 5.0

# -- tripleplay's side ----------------------------------------------------------------------------------


def seed_tripleplay(env: dict, users: int, funds_minor: int) -> None:
    code = f"""
import django; django.setup()
from django.db import transaction
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services
from tripleplay.rating.services import create_rate_table, set_rate
actor = Actor.system("bench")
internet = create_product(actor, code="fiber", name="Fiber", kind="main", currency="USD", services=["data"])
plan = create_plan(actor, internet, code="fiber-volume", name="Fiber by volume", periodic_fee_minor=0)
rates = create_rate_table(actor, internet, service_type="data", name="Fiber volume")
set_rate(actor, rates, prefix="", price_per_unit_micros=100_000, first_increment=100, next_increment=100)
services.set_internet_service(actor, internet, download_kbps=100_000, upload_kbps=20_000, address_pool="pool-fiber",
                              session_timeout_seconds=86_400, idle_timeout_seconds=600, interim_interval_seconds=300)
services.create_nas(actor, name="bench-nas", address="127.0.0.1", secret={SECRET!r}, vendor="mikrotik")
for i in range({users}):
    with transaction.atomic():
        c = create_customer(actor, name=f"bench {{i}}", currency="USD", balance_model="prepaid")
        record_payment(actor, c, Money({funds_minor}, "USD"), idempotency_key=f"bench-{{i}}")
        a = create_account(actor, c, main_plan=plan, login=f"u{{i}}")
        services.set_internet_password(actor, a, {PASSWORD!r})
print("SEEDED")
"""
    tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True)


def sql_path(env: dict) -> dict:
    """FreeRADIUS's rlm_sql module on tripleplay's database (D280), as tripleplay renders it, unless the
    run's --env has TRIPLEPLAY_RADIUS_SQL=0 (rlm_rest only)."""
    from tripleplay.radius import server

    if env.get("TRIPLEPLAY_RADIUS_SQL", "1").strip().lower() in {"0", "false", "no", "off"}:
        return {}
    found = server.sql_settings_from_url(env["DATABASE_URL"])
    return {**found, "time_zone": env.get("TRIPLEPLAY_TIME_ZONE", "UTC")} if found else {}


def charged_minor(database: str) -> dict:
    """What the interims cost in tripleplay's ledger: charges, holds, the invariant balance = entries."""
    # A session's charged state is the greater of its row's and its fast window's (D296: the Python
    # path folds the window into the row under its lock).
    charged = ("(SELECT s.id, s.hold_id, s.posted_minor, greatest(s.charged_minor, coalesce(w.charged_minor, 0)) AS c"
               " FROM charging_sessions_chargingsession s LEFT JOIN charging_sessions_chargingwindow w"
               " ON w.session_id = s.id)")
    sql = ("SELECT (SELECT -coalesce(sum(amount_minor),0) FROM ledger_ledgerentry WHERE kind='charge'), "
           "(SELECT count(*) FROM radius_networksession), (SELECT coalesce(sum(interim_updates),0) FROM "
           "radius_networksession)"
           " + (SELECT coalesce(sum(reports),0) FROM charging_sessions_chargingwindow), "
           "(SELECT count(*) FROM ledger_funds f WHERE f.balance_minor <> (SELECT "
           "coalesce(sum(amount_minor),0) FROM ledger_ledgerentry e WHERE e.customer_id=f.customer_id)), "
           f"(SELECT coalesce(sum(c),0) FROM {charged} x), "
           f"(SELECT coalesce(sum(c - posted_minor),0) FROM {charged} x), "
           f"(SELECT count(*) FROM {charged} x JOIN ledger_hold h ON h.id = x.hold_id "
           "WHERE x.c - x.posted_minor > h.amount_minor OR h.status <> 'active')")
    out = _pg("psql", "-At", "-d", database, "-c", sql).stdout.strip().split("|")
    # charged_minor: what the sessions cost (D280: a fast window's charges are held, posted when it closes);
    # posted_minor: the ledger's charge entries; pending_not_held: must be 0.
    return {"charged_minor": int(out[4]), "posted_minor": int(out[0]), "pending_minor": int(out[5]),
            "pending_not_held": int(out[6]), "sessions": int(out[1]), "interims_recorded": int(out[2]),
            "funds_not_equal_to_entries": int(out[3])}


# -- the stock set-up ---------------------------------------------------------------------------------------


def seed_stock(database: str, users: int) -> None:
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", str(STOCK_SCHEMA))
    rows = io.StringIO()
    for i in range(users):
        rows.write(f"u{i}\tCleartext-Password\t:=\t{PASSWORD}\n")
    copy = subprocess.run(["psql", "-h", _pghost(), "-p", _pgport(), "-U", _pguser(), "-q", "-v", "ON_ERROR_STOP=1",
                           "-d", database, "-c", "\\copy radcheck (username, attribute, op, value) from stdin"],
                          input=rows.getvalue(), text=True, capture_output=True)
    if copy.returncode != 0:
        raise SystemExit(f"loading radcheck failed: {copy.stderr}")
    groups = "".join(f"INSERT INTO radgroupreply (groupname, attribute, op, value) VALUES ('fiber', '{k}', ':=', '{v}');"
                     for k, v in REPLY.items())
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-c",
        groups + f"INSERT INTO radusergroup (username, groupname, priority) SELECT 'u' || i, 'fiber', 1 "
                 f"FROM generate_series(0, {users - 1}) i")
    _pg("psql", "-q", "-d", database, "-c", "VACUUM ANALYZE")


def _pghost() -> str:
    return PG["host"]


def _pgport() -> str:
    return PG["port"]


def _pguser() -> str:
    return PG["user"]


STOCK_RADIUSD = """# The stock ISP set-up for bench/radius: Debian's FreeRADIUS 3.2 with rlm_sql on PostgreSQL.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = ${exec_prefix}/sbin
raddbdir = @DIR@
confdir = ${raddbdir}
modconfdir = /etc/freeradius/3.0/mods-config
run_dir = @DIR@/run
logdir = ${run_dir}
libdir = /usr/lib/freeradius
pidfile = ${run_dir}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
	destination = stdout
	colourise = no
	auth = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
proxy_requests = no
thread pool {
	start_servers = @THREADS@
	max_servers = @THREADS@
	min_spare_servers = 2
	max_spare_servers = @THREADS@
	max_requests_per_server = 0
	auto_limit_acct = no
}
client bench_nas {
	ipaddr = 127.0.0.1
	secret = @SECRET@
}
modules {
	pap {
		normalise = no
	}
	# mods-enabled/expr: the %{tolower:...} and %{md5:...} the default queries and acct_unique use
	expr {
	}
	$INCLUDE @DIR@/sql
}
policy {
	# policy.d/accounting's acct_unique (without the Class rehash): the default queries key radacct on it.
	acct_unique {
		update request {
			&Acct-Unique-Session-Id := "@UNIQUE@"
		}
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = @AUTH_PORT@
	}
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = @ACCT_PORT@
	}
	authorize {
		sql
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	preacct {
		acct_unique
	}
	accounting {
		sql
	}
	post-auth {
		sql
	}
}
"""


ACCT_UNIQUE = ("%{md5:%{User-Name},%{Acct-Session-ID},%{%{NAS-IPv6-Address}:-%{NAS-IP-Address}},"
               "%{NAS-Identifier},%{NAS-Port-ID},%{NAS-Port}}")


def render_stock(dest: Path, database: str, threads: int, auth_port: int, acct_port: int) -> None:
    (dest / "run").mkdir(parents=True, exist_ok=True)
    text = STOCK_RADIUSD
    for key, value in {"DIR": str(dest), "THREADS": str(threads), "SECRET": SECRET, "AUTH_PORT": str(auth_port),
                       "ACCT_PORT": str(acct_port), "UNIQUE": ACCT_UNIQUE}.items():
        text = text.replace(f"@{key}@", value)
    (dest / "radiusd.conf").write_text(text)
    # Debian's mods-available/sql as shipped, pointed at PostgreSQL (its default queries.conf included).
    sql = STOCK_SQL_MODULE.read_text()
    sql = sql.replace('dialect = "sqlite"', 'dialect = "postgresql"', 1)
    sql = sql.replace('driver = "rlm_sql_null"', 'driver = "rlm_sql_${dialect}"', 1)
    sql = sql.replace('radius_db = "radius"', f'server = "{_pghost()}"\n\tport = {_pgport()}\n\tlogin = '
                                              f'"{_pguser()}"\n\tpassword = ""\n\tradius_db = "{database}"', 1)
    (dest / "sql").write_text(sql)


def render_files(dest: Path, users: int, threads: int, auth_port: int, acct_port: int) -> None:
    """FreeRADIUS alone, the ceiling of any back end: the same server set-up as stock with the `files`
    module instead of rlm_sql (each user's Cleartext-Password and the reply attributes in a users file,
    accounting answered without being stored). No database: what FreeRADIUS itself costs per request."""
    (dest / "run").mkdir(parents=True, exist_ok=True)
    text = STOCK_RADIUSD.replace("$INCLUDE @DIR@/sql", "files {\n\t\tfilename = @DIR@/users\n\t}\n"
                                "\talways ok {\n\t\trcode = ok\n\t}")
    text = text.replace("authorize {\n\t\tsql", "authorize {\n\t\tfiles")
    text = text.replace("accounting {\n\t\tsql", "accounting {\n\t\tok")
    text = text.replace("post-auth {\n\t\tsql", "post-auth {\n\t\tok")
    for key, value in {"DIR": str(dest), "THREADS": str(threads), "SECRET": SECRET, "AUTH_PORT": str(auth_port),
                       "ACCT_PORT": str(acct_port), "UNIQUE": ACCT_UNIQUE}.items():
        text = text.replace(f"@{key}@", value)
    (dest / "radiusd.conf").write_text(text)
    reply = ",\n".join(f'\t{k} := "{v}"' for k, v in REPLY.items())
    (dest / "users").write_text("".join(f'u{i} Cleartext-Password := "{PASSWORD}"\n{reply}\n\n'
                                        for i in range(users)))


def start_freeradius(conf: Path, log_path: Path, timeout: float = 30) -> subprocess.Popen:
    check = subprocess.run(["freeradius", "-C", "-d", str(conf)], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        raise SystemExit(f"freeradius refuses {conf}:\n{check.stdout[-4000:]}{check.stderr[-2000:]}")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(["freeradius", "-f", "-d", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while "Ready to process requests" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            raise SystemExit(f"freeradius did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    return proc


def stop_process(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# -- packets: built once with pyrad, re-signed per request ---------------------------------------------------


def _dictionary():
    from pyrad.dictionary import Dictionary

    from tripleplay.simulators.nas import DICTIONARY  # the simulated NAS's, from the RFCs

    return Dictionary(io.StringIO(DICTIONARY))


def _offsets(raw: bytes) -> dict[int, int]:
    """Attribute type -> offset of its value in ``raw`` (the first occurrence)."""
    out, pos = {}, 20
    while pos < len(raw):
        kind, length = raw[pos], raw[pos + 1]
        out.setdefault(kind, pos + 2)
        pos += length
    return out


class AccessTemplate:
    """An Access-Request (PAP, with Message-Authenticator) per user: a new Identifier and Request
    Authenticator each time, the password encrypted again (RFC 2865 5.2), the Message-Authenticator
    computed (RFC 3579 3.2)."""

    def __init__(self, dictionary, secret: str, user: str, password: str):
        import pyrad.packet

        pkt = pyrad.packet.AuthPacket(code=pyrad.packet.AccessRequest, id=0, secret=secret.encode(), dict=dictionary,
                                      authenticator=bytes(16))
        pkt["User-Name"] = user
        pkt["User-Password"] = pkt.PwCrypt(password)
        pkt["NAS-IP-Address"] = "127.0.0.1"
        pkt["NAS-Port-Type"] = "Ethernet"
        pkt["Service-Type"] = "Framed-User"
        raw = pkt.RequestPacket() + bytes([80, 18]) + bytes(16)
        raw = raw[:2] + struct.pack("!H", len(raw)) + raw[4:]
        self.raw, self.secret, self.password = bytearray(raw), secret.encode(), password.encode()
        offsets = _offsets(raw)
        self.pw_at, self.ma_at = offsets[2], offsets[80]

    def packet(self, ident: int) -> bytes:
        raw, auth = self.raw, os.urandom(16)
        raw[1], raw[4:20] = ident, auth
        padded = self.password + bytes(-len(self.password) % 16 or 0)
        out, last = bytearray(), auth
        for i in range(0, len(padded), 16):
            key = hashlib.md5(self.secret + last).digest()
            last = bytes(a ^ b for a, b in zip(padded[i:i + 16], key, strict=True))
            out += last
        raw[self.pw_at:self.pw_at + len(out)] = out
        raw[self.ma_at:self.ma_at + 16] = bytes(16)
        raw[self.ma_at:self.ma_at + 16] = hmac.new(self.secret, raw, "md5").digest()
        return bytes(raw)


class AccountingTemplate:
    """An Accounting-Request of one session: the status type and the counters set per request, the
    Request Authenticator computed (RFC 2866 3)."""

    def __init__(self, dictionary, secret: str, user: str, session_id: str, framed_ip: str):
        import pyrad.packet

        pkt = pyrad.packet.AcctPacket(code=pyrad.packet.AccountingRequest, id=0, secret=secret.encode(),
                                      dict=dictionary)
        pkt["User-Name"] = user
        pkt["Acct-Status-Type"] = "Start"
        pkt["Acct-Session-Id"] = session_id
        pkt["NAS-IP-Address"] = "127.0.0.1"
        pkt["Framed-IP-Address"] = framed_ip
        pkt["Acct-Input-Octets"] = 0
        pkt["Acct-Output-Octets"] = 0
        pkt["Acct-Session-Time"] = 0
        pkt["Acct-Delay-Time"] = 0
        raw = pkt.RequestPacket()
        self.raw, self.secret = bytearray(raw), secret.encode()
        o = _offsets(raw)
        self.status_at, self.in_at, self.out_at, self.time_at = o[40], o[42], o[43], o[46]
        self.sent = 0  # interims sent

    def packet(self, ident: int, status: int) -> bytes:
        raw = self.raw
        raw[1] = ident
        raw[4:20] = bytes(16)
        struct.pack_into("!I", raw, self.status_at, status)
        k = self.sent
        struct.pack_into("!I", raw, self.in_at, k * INTERIM_BYTES[0])
        struct.pack_into("!I", raw, self.out_at, k * INTERIM_BYTES[1])
        struct.pack_into("!I", raw, self.time_at, k * 60)
        raw[4:20] = hashlib.md5(bytes(raw) + self.secret).digest()
        return bytes(raw)


# -- the load generator -------------------------------------------------------------------------------------


class Slot(asyncio.DatagramProtocol):
    """One UDP socket with one request in flight."""

    def __init__(self):
        self.waiting: asyncio.Future | None = None
        self.ident = random.randrange(256)
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.waiting is not None and not self.waiting.done() and len(data) >= 20 and data[1] == self.ident:
            self.waiting.set_result(data[0])

    async def ask(self, make, item) -> int | None:
        self.ident = (self.ident + 1) % 256
        self.waiting = asyncio.get_running_loop().create_future()
        self.transport.sendto(make(item, self.ident))
        try:
            return await asyncio.wait_for(self.waiting, TIMEOUT)
        except TimeoutError:
            return None


async def drive(port: int, items, make, expect: int, *, inflight: int, seconds: float, rate: float | None = None,
                count: int | None = None) -> dict:
    """Send ``make(item, ident)`` for items from ``items()`` with ``inflight`` in flight, for ``seconds``
    (or ``count`` requests), paced at ``rate`` per second if given. Latencies in ms."""
    loop = asyncio.get_running_loop()
    slots = []
    for _ in range(inflight):
        _, slot = await loop.create_datagram_endpoint(Slot, remote_addr=("127.0.0.1", port))
        slots.append(slot)
    latencies: list[float] = []
    outcome = {"lost": 0, "wrong": 0}
    sent = [0]
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def worker(slot: Slot) -> None:
        while True:
            if count is not None and sent[0] >= count:
                return
            k = sent[0]
            sent[0] += 1
            if rate:
                scheduled = t0 + k / rate
                if scheduled >= deadline or time.perf_counter() >= deadline:
                    return  # a server behind the offered rate: what was not sent in time is counted as such
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif time.perf_counter() >= deadline:
                return
            item = items()
            start = scheduled if rate else time.perf_counter()
            code = await slot.ask(make, item)
            if code is None:
                outcome["lost"] += 1
            elif code != expect:
                outcome["wrong"] += 1
            else:
                latencies.append((time.perf_counter() - start) * 1000)

    cpu0, box0 = time.process_time(), cpu_times()
    await asyncio.gather(*(worker(s) for s in slots))
    wall = time.perf_counter() - t0
    cpu, busy = time.process_time() - cpu0, busy_percent(box0)
    for s in slots:
        s.transport.close()
    latencies.sort()

    def pct(p: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))], 2) \
            if latencies else None

    if rate:  # requests due before the deadline that were never sent: the server was that far behind
        outcome["not_sent"] = max(0, int(seconds * rate) - (len(latencies) + outcome["lost"] + outcome["wrong"]))
    return {"answered": len(latencies), **outcome, "seconds": round(wall, 2),
            "per_second": round(len(latencies) / wall, 1), "offered_per_second": rate,
            "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(latencies[-1], 2) if latencies else None,
            "generator_cpu_percent": round(100 * cpu / wall, 1), "machine_busy_percent": busy}


def login_backlog(run_dir: Path) -> int:
    """Accepted logins in the SQL path's files not yet recorded into the database (D290): the entries
    left in run/logins/detail*, an upper bound (the reader's .work file keeps its entries until their
    last batch committed)."""
    return sum(p.read_text(errors="replace").count("\tTimestamp = ") for p in (run_dir / "logins").glob("detail*"))


def drain_logins(run_dir: Path, limit: float = 120) -> dict:
    """After the Access-Request phase: the logins backlog, and the seconds until the reader drained it."""
    t0, backlog = time.monotonic(), login_backlog(run_dir)
    while login_backlog(run_dir) and time.monotonic() - t0 < limit:
        time.sleep(0.2)
    return {"logins_backlog": backlog, "drained_seconds": round(time.monotonic() - t0, 1),
            "left": login_backlog(run_dir)}


def measure_target(name: str, auth_port: int, acct_port: int, users: int, args, dictionary, run_id: str,
                   after_access=None) -> dict:
    rng = random.Random(7)
    access = [AccessTemplate(dictionary, SECRET, f"u{i}", PASSWORD) for i in range(users)]
    sessions = [AccountingTemplate(dictionary, SECRET, f"u{i}", f"{run_id}-{name}-{i}",
                                   f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}") for i in range(users)]
    out: dict = {"target": name}
    print(f"  {name}: warm-up ...", flush=True)
    asyncio.run(drive(auth_port, lambda: rng.choice(access), lambda t, ident: t.packet(ident), 2,
                      inflight=args.inflight, seconds=min(3.0, args.seconds)))
    print(f"  {name}: Access-Request for {args.seconds} s ...", flush=True)
    out["access"] = asyncio.run(drive(auth_port, lambda: rng.choice(access), lambda t, ident: t.packet(ident), 2,
                                      inflight=args.inflight, seconds=args.seconds))
    if after_access is not None:
        out["after_access"] = after_access()
        print(f"  {name}: after the Access-Requests {out['after_access']}", flush=True)
    starts = iter(sessions)
    out["start"] = asyncio.run(drive(acct_port, lambda: next(starts), lambda t, ident: t.packet(ident, 1), 5,
                                     inflight=args.inflight, seconds=120, count=users))
    ring = [0]

    def next_session():
        s = sessions[ring[0] % users]
        ring[0] += 1
        s.sent += 1
        return s

    print(f"  {name}: Interim-Update for {args.seconds} s ...", flush=True)
    out["interim"] = asyncio.run(drive(acct_port, next_session, lambda t, ident: t.packet(ident, 3), 5,
                                       inflight=args.inflight, seconds=args.seconds))
    print(f"  {name}: Interim-Update at {args.interim_rate}/s offered for {args.seconds} s ...", flush=True)
    out["interim_paced"] = asyncio.run(drive(acct_port, next_session, lambda t, ident: t.packet(ident, 3), 5,
                                             inflight=args.inflight, seconds=args.seconds, rate=args.interim_rate))
    out["interims_sent"] = sum(s.sent for s in sessions)
    for phase in ("access", "start", "interim", "interim_paced"):
        r = out[phase]
        print(f"    {phase:>13}: {r['per_second']:>8}/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  lost "
              f"{r['lost']} wrong {r['wrong']}  generator CPU {r['generator_cpu_percent']}%  box "
              f"{r['machine_busy_percent']}%", flush=True)
    return out


# -- the run --------------------------------------------------------------------------------------------


def table(results: dict) -> str:
    rows = [f"{'':>26} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'lost':>5} {'wrong':>5} "
            f"{'vs stock':>8} {'gen CPU':>7} {'box CPU':>7}"]
    stock = results["targets"].get("stock", {})
    for name, r in results["targets"].items():
        for phase in ("access", "start", "interim", "interim_paced"):
            p = r[phase]
            base = stock.get(phase, {}).get("per_second")
            ratio = f"{p['per_second'] / base:.2f}x" if base and phase != "interim_paced" else ""
            label = f"{name} {phase}" + (f"@{p['offered_per_second']:.0f}" if p["offered_per_second"] else "")
            behind = f" ({p['not_sent']} due, not sent)" if p.get("not_sent") else ""
            rows.append(f"{label:>26} {p['per_second']:>8.0f} {p['p50_ms'] or 0:>7.1f} {p['p99_ms'] or 0:>7.1f} "
                        f"{p['max_ms'] or 0:>7.1f} {p['lost']:>5} {p['wrong']:>5} {ratio:>8} "
                        f"{p['generator_cpu_percent']:>6.0f}% {p['machine_busy_percent'] or 0:>6.0f}%{behind}")
    rows.append(f"pgbench simple-update (same run): {results['pgbench'].get('tps')} TPS")
    if "ledger" in results:
        rows.append(f"tripleplay ledger after the run: {results['ledger']}")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=15, help="time of each measured phase")
    ap.add_argument("--inflight", type=int, default=32, help="requests in flight (default 32)")
    ap.add_argument("--interim-rate", type=float, default=1000, help="offered Interim-Updates/s of the paced phase")
    ap.add_argument("--server", default="granian:2x8", help="tripleplay serve setting SERVER:WORKERSxTHREADS")
    ap.add_argument("--threads", type=int, default=16, help="each FreeRADIUS's thread pool (and rlm_rest/rlm_sql pools)")
    ap.add_argument("--base-port", type=int, default=20500)
    ap.add_argument("--targets", nargs="+", default=["tripleplay", "stock"], choices=["tripleplay", "stock", "files"],
                    help="files: FreeRADIUS alone, no database (the ceiling of any back end)")
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    ap.add_argument("--wait-quiet", type=float, default=30, help="wait up to this long for an idle machine first")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for tripleplay's server (repeatable)")
    args = ap.parse_args()
    if not 1 <= args.users <= 20_000 or not 1 <= args.inflight <= 200 or not 1 <= args.seconds <= 300:
        raise SystemExit("out of bounds: users 1..20000, inflight 1..200, seconds 1..300")
    if not shutil.which("freeradius"):
        raise SystemExit("FreeRADIUS is not installed (Debian: freeradius freeradius-rest freeradius-utils)")
    if "stock" in args.targets and not Path("/usr/lib/freeradius/rlm_sql_postgresql.so").exists():
        raise SystemExit("the stock set-up needs rlm_sql_postgresql (Debian: apt-get install freeradius-postgresql)")
    server, _, size = args.server.rpartition(":")
    workers, threads = (int(x) for x in size.split("x"))

    from tripleplay.radius import server as freeradius

    results: dict = {"benchmark": "radius", "users": args.users, "inflight": args.inflight, "cpus": os.cpu_count(),
                     "server": args.server, "freeradius_threads": args.threads, "targets": {}}
    wait_for_quiet(args.wait_quiet)
    print("pgbench baseline ... ", end="", flush=True)
    results["pgbench"] = pgbench_baseline(seconds=args.pgbench_seconds)
    print(results["pgbench"], flush=True)
    run_id = token_source.token_hex(4)
    token = token_source.token_urlsafe(24)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_bench_radius") as db, \
            scratch_database("tp_bench_radius_stock") as stock_db:
        home = Path(home)
        env = {**django_env(db, home), "TRIPLEPLAY_DEMO": "1", "TRIPLEPLAY_RADIUS_TOKEN": token,
               **dict(e.split("=", 1) for e in args.env)}
        env.pop("TRIPLEPLAY_DEBUG", None)
        try:
            print(f"seeding {args.users} users (tripleplay and stock) ...", flush=True)
            t0 = time.monotonic()
            if "tripleplay" in args.targets:
                tripleplay("migrate", "-v", "0", env=env)
                seed_tripleplay(env, args.users, 10_000_000)
                _pg("psql", "-q", "-d", db, "-c", "VACUUM ANALYZE")
            if "stock" in args.targets:
                seed_stock(stock_db, args.users)
            print(f"  in {time.monotonic() - t0:.1f} s", flush=True)
            if "tripleplay" in args.targets:
                port = args.base_port
                with open(home / "serve.log", "wb") as log:
                    proc = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "serve", "--host", "127.0.0.1",
                                             "--port", str(port), "--server", server or "gunicorn", "--workers",
                                             str(workers), "--threads", str(threads), "--no-access-log"],
                                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
                procs.append(proc)
                wait_ready(proc, port, home / "serve.log")
                # The SQL path (D272) as tripleplay.radius.server.sql_settings_from_database renders it
                # for the server's database, unless --env TRIPLEPLAY_RADIUS_SQL=0.
                sql = sql_path(env)
                results["radius_sql"] = bool(sql)
                settings = freeradius.Settings(tripleplay_url=f"http://127.0.0.1:{port}", token=token,
                                               auth_port=args.base_port + 10, acct_port=args.base_port + 11,
                                               client_lifetime=3600,
                                               threads=args.threads, **sql)
                fr = freeradius.FreeradiusProcess(home / "fr-tripleplay", settings)
                fr.start()
                procs.append(fr.proc)
                if fr.logins is not None:  # the SQL path's logins reader beside it (D290), stopped first
                    procs.append(fr.logins)
            if "stock" in args.targets:
                conf = home / "fr-stock"
                render_stock(conf, stock_db, args.threads, args.base_port + 20, args.base_port + 21)
                procs.append(start_freeradius(conf, conf / "run" / "freeradius.log"))
            if "files" in args.targets:
                conf = home / "fr-files"
                render_files(conf, args.users, args.threads, args.base_port + 30, args.base_port + 31)
                procs.append(start_freeradius(conf, conf / "run" / "freeradius.log"))
            dictionary = _dictionary()
            for name in args.targets:
                wait_for_quiet(min(args.wait_quiet, 10))
                base = args.base_port + {"tripleplay": 10, "stock": 20, "files": 30}[name]
                drain = (lambda: drain_logins(home / "fr-tripleplay" / "run")) if (
                    name == "tripleplay" and results.get("radius_sql")) else None
                results["targets"][name] = measure_target(name, base, base + 1, args.users, args, dictionary, run_id,
                                                          after_access=drain)
            if "tripleplay" in args.targets:
                ledger = charged_minor(db)
                t = results["targets"]["tripleplay"]
                ledger["interims_answered"] = t["interim"]["answered"] + t["interim_paced"]["answered"]
                results["ledger"] = ledger
        finally:
            for proc in reversed(procs):
                stop_process(proc) if proc.args[0] == "freeradius" else stop_server(proc)
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
