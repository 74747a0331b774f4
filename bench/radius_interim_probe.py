"""bench/radius_interim_probe: the database's share of an Interim-Update, without FreeRADIUS (issue #14).

    .venv/bin/python bench/radius_interim_probe.py [--users 200] [--seconds 10] [--clients 16]

bench/radius measures the whole path (load generator, FreeRADIUS, PostgreSQL on the same two cores);
this probe isolates the statement each FreeRADIUS thread sends for an Interim-Update and runs it
with pgbench (-M simple: rlm_sql sends each query as text, parsed and planned every time), --clients
connections as FreeRADIUS's rlm_sql pool would hold, in the same run:

- stock: FreeRADIUS 3.2's default interim-update query (queries.conf, dialect postgresql) on its own
  schema, one radacct row per session;
- tripleplay: the query mods/tripleplay_sql sends (radius_sql_interim, D280-D282) on a tripleplay
  database with --users prepaid subscribers (bench/radius's world), each with a session started by
  radius.services.record_accounting, so inside its fast window;
- pgbench's own simple-update (the machine's speed in the same run).

Each call reports more octets than the last (a global sequence, 10 bytes a call), so none is a
retransmission and every call writes. Afterwards the tripleplay database is checked: every call
handled by the function (none fell outside its window), money pending inside windows only, each
balance equal to its entries. Binds nothing; the scratch databases are dropped on the way out.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.radius import STOCK_SCHEMA, charged_minor, seed_tripleplay  # noqa: E402

STEP = 10  # bytes more per call


def start_sessions(env: dict, users: int) -> None:
    code = f"""
import django; django.setup()
from tripleplay.radius.models import NasClient
from tripleplay.radius.services import record_accounting
nas = NasClient.objects.get(address="127.0.0.1")
for i in range({users}):
    record_accounting(nas, {{"Acct-Status-Type": ["Start"], "User-Name": [f"u{{i}}"], "Acct-Session-Id": [f"s{{i}}"],
                            "Framed-IP-Address": ["10.0.0.1"]}})
print("STARTED")
"""
    out = tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True).stdout
    assert "STARTED" in out, out


def seed_stock(database: str, users: int) -> None:
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", str(STOCK_SCHEMA))
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-c",
        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, acctstarttime, acctupdatetime, "
        "framedipaddress) SELECT 's' || i, md5('s' || i), 'u' || i, '127.0.0.1', now(), now(), '10.0.0.1' "
        f"FROM generate_series(0, {users - 1}) i", "-c", "CREATE SEQUENCE probe_octets", "-c", "VACUUM ANALYZE radacct")


STOCK = ("UPDATE radacct SET FramedIPAddress = NULLIF('10.0.0.1', '')::inet, "
         "FramedIPv6Address = NULLIF('', '')::inet, FramedIPv6Prefix = NULLIF('', '')::inet, "
         "FramedInterfaceId = NULLIF('', ''), DelegatedIPv6Prefix = NULLIF('', '')::inet, AcctSessionTime = 60, "
         "AcctInterval = (extract(epoch from now()) - EXTRACT(EPOCH FROM (COALESCE(AcctUpdateTime, AcctStartTime)))), "
         "AcctUpdateTime = now(), AcctInputOctets = (('0'::bigint << 32) + nextval('probe_octets') * {step}), "
         "AcctOutputOctets = (('0'::bigint << 32) + '0'::bigint) "
         "WHERE AcctUniqueId = md5('s' || :u) AND AcctStopTime IS NULL;")
TRIPLEPLAY = ("SELECT 1 WHERE radius_sql_interim('127.0.0.1', 's' || :u, nextval('probe_octets') * {step}, 0, 0, 0, "
              "60, NULLIF('10.0.0.1', '')::inet, 0, NULL) <> 0;")


def run_pgbench(database: str, statement: str, users: int, seconds: int, clients: int, workdir: Path) -> float:
    script = workdir / "probe.sql"
    script.write_text(f"\\set u random(0, {users - 1})\n" + statement.format(step=STEP) + "\n")
    out = _pg("pgbench", "-n", "-M", "simple", "-f", str(script), "-c", str(clients), "-j", "2",
              "-T", str(seconds), database).stdout
    found = re.search(r"tps = ([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1, help="alternate stock and tripleplay this many times")
    args = ap.parse_args()
    base = pgbench_baseline(seconds=args.seconds)
    print(f"pgbench simple-update: {base.get('tps'):.0f} tps")
    with tempfile.TemporaryDirectory() as tmp, scratch_database("tp_probe_stock") as stock_db, \
            scratch_database("tp_probe_tp") as tp_db:
        home = Path(tmp)
        env = django_env(tp_db, home)
        tripleplay("migrate", env=env, capture_output=True)
        seed_tripleplay(env, args.users, 1_000_000)
        start_sessions(env, args.users)
        _pg("psql", "-q", "-d", tp_db, "-c", "CREATE SEQUENCE probe_octets", "-c", "VACUUM ANALYZE")
        seed_stock(stock_db, args.users)
        before = _pg("psql", "-At", "-d", tp_db, "-c",
                     "SELECT coalesce(sum(fast_reports), 0) FROM charging_sessions_chargingsession").stdout.strip()
        results = {"stock": [], "tripleplay": []}
        for _ in range(args.rounds):
            results["stock"].append(run_pgbench(stock_db, STOCK, args.users, args.seconds, args.clients, home))
            results["tripleplay"].append(run_pgbench(tp_db, TRIPLEPLAY, args.users, args.seconds, args.clients, home))
        calls = int(_pg("psql", "-At", "-d", tp_db, "-c", "SELECT last_value FROM probe_octets").stdout.strip())
        after = _pg("psql", "-At", "-d", tp_db, "-c",
                    "SELECT coalesce(sum(fast_reports), 0) FROM charging_sessions_chargingsession").stdout.strip()
        money = charged_minor(tp_db)
    for name, tps in results.items():
        print(f"{name:>10}: " + ", ".join(f"{t:,.0f}" for t in tps) + " calls/s")
    ratio = [t / s for t, s in zip(results["tripleplay"], results["stock"], strict=True) if s]
    print("tripleplay/stock: " + ", ".join(f"{r:.2f}x" for r in ratio))
    handled = int(after) - int(before)  # concurrent reports of one session: the later-sent may commit first,
    # and the earlier then finds its counters not above the stored ones (a retransmission, answered, not counted)
    print(f"tripleplay calls {calls:,}, handled as new reports in the window {handled:,}; money {money}")
    ok = calls * 0.99 <= handled <= calls and money["pending_not_held"] == 0 and money["funds_not_equal_to_entries"] == 0
    print("checks:", "passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
