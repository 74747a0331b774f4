"""bench/radius_sql_probe: what the SQL path's statements cost PostgreSQL alone (issue #14, D290), with
pgbench in simple-query mode as FreeRADIUS's rlm_sql sends them (no prepared statements), on a seeded
scratch database (bench/radius.py's subscribers):

    flock /tmp/tripleplay-bench.lock .venv/bin/python bench/radius_sql_probe.py [--users 1000] [--seconds 10]

Probes, each --clients connections for --seconds, a random login each call:
- authorize: `SELECT * FROM radius_sql_authorize_pap(...)`, an Access-Request's one statement;
- post_auth: `SELECT radius_sql_post_auth(...)`, one login recorded in its own transaction (D273);
- authorize+post_auth: both, one after the other (the per-login cost before D290);
- post_auth_batch: `radius_sql_post_auth_batch` with --batch logins (D290), reported in logins/s;
- with --interim, an Interim-Update's statement (D295) against stock's, --rounds times alternately,
  --interim-clients connections as a FreeRADIUS's rlm_sql pool holds: stock FreeRADIUS 3.2's
  interim-update query (queries.conf, dialect postgresql) on its own schema, one radacct row per
  session; tripleplay's `SELECT 1 WHERE radius_sql_interim(...) <> 0` (mods/tripleplay_sql), each
  subscriber with a session started by radius.services.record_accounting, so inside its fast window.
  Each call reports 10 bytes more than the last (a global sequence), so every call writes; afterwards
  every call must have been handled in the window (a few fewer: concurrent reports of one session,
  the earlier-sent finding the later's counters, are retransmissions), with money pending inside
  windows only and each balance equal to its entries.
pgbench's own simple-update TPS from the same run is printed first (the machine's speed that day).
pgbench logs in as the scratch database's owner, not as the SQL path's role (D300, D301): the functions run
as their owner either way (SECURITY DEFINER, search_path pinned), so the per-call cost is the same, and the
scripts read a sequence (probe_octets) and call radius_sql_post_auth, which the role may not."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.radius import STOCK_SCHEMA, charged_minor, seed_tripleplay  # noqa: E402

NAS = "127.0.0.1"
STEP = 10  # bytes more per interim call
STOCK_INTERIM = (
    "UPDATE radacct SET FramedIPAddress = NULLIF('10.0.0.1', '')::inet, FramedIPv6Address = NULLIF('', '')::inet, "
    "FramedIPv6Prefix = NULLIF('', '')::inet, FramedInterfaceId = NULLIF('', ''), "
    "DelegatedIPv6Prefix = NULLIF('', '')::inet, AcctSessionTime = 60, "
    "AcctInterval = (extract(epoch from now()) - EXTRACT(EPOCH FROM (COALESCE(AcctUpdateTime, AcctStartTime)))), "
    f"AcctUpdateTime = now(), AcctInputOctets = (('0'::bigint << 32) + nextval('probe_octets') * {STEP}), "
    "AcctOutputOctets = (('0'::bigint << 32) + '0'::bigint) WHERE AcctUniqueId = md5('s' || :i) AND AcctStopTime IS NULL;"
)
TRIPLEPLAY_INTERIM = (
    f"SELECT 1 WHERE radius_sql_interim('{NAS}', 's' || :i, nextval('probe_octets') * {STEP}, 0, 0, 0, 60, "
    "NULLIF('10.0.0.1', '')::inet, 0, NULL) <> 0;"
)


def scripts(users: int, batch: int, at: int) -> dict[str, str]:
    pick = f"\\set i random(0, {users - 1})\n"
    authorize = f"SELECT * FROM radius_sql_authorize_pap('u:i', '{NAS}', 'UTC');\n"
    post_auth = f"SELECT radius_sql_post_auth('u:i', '{NAS}', {at});\n"
    logins = f"ARRAY(SELECT 'u' || floor(random() * {users})::int FROM generate_series(1, {batch}))"
    return {
        "authorize": pick + authorize,
        "post_auth": pick + post_auth,
        "authorize+post_auth": pick + authorize + post_auth,
        "post_auth_batch": (
            f"SELECT radius_sql_post_auth_batch({logins}, array_fill('{NAS}'::text, "
            f"ARRAY[{batch}]), array_fill({at}::bigint, ARRAY[{batch}]));\n"
        ),
    }


def start_sessions(env: dict, users: int) -> None:
    """A session per subscriber u<i> (Acct-Session-Id s<i>), started as an Accounting-Start is: its window open."""
    code = f"""
import django; django.setup()
from tripleplay.radius.models import NasClient
from tripleplay.radius.services import record_accounting
nas = NasClient.objects.get(address="{NAS}")
for i in range({users}):
    record_accounting(nas, {{"Acct-Status-Type": ["Start"], "User-Name": [f"u{{i}}"], "Acct-Session-Id": [f"s{{i}}"],
                            "Framed-IP-Address": ["10.0.0.1"]}})
"""
    tripleplay("django", "shell", "-c", code, env=env, capture_output=True, text=True)


def seed_stock(database: str, users: int) -> None:
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", str(STOCK_SCHEMA))
    _pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-c",
        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, acctstarttime, acctupdatetime, "
        f"framedipaddress) SELECT 's' || i, md5('s' || i), 'u' || i, '{NAS}', now(), now(), '10.0.0.1' "
        f"FROM generate_series(0, {users - 1}) i", "-c", "CREATE SEQUENCE probe_octets", "-c", "VACUUM ANALYZE radacct")


def interim(args, env: dict, db: str, home: Path) -> bool:
    """The Interim-Update probes (D295): stock's statement and tripleplay's, alternately; the checks."""
    start_sessions(env, args.users)
    _pg("psql", "-q", "-d", db, "-c", "CREATE SEQUENCE probe_octets", "-c", "VACUUM ANALYZE")
    reports = "SELECT coalesce(sum(reports), 0) FROM charging_sessions_chargingwindow"
    before = int(_pg("psql", "-At", "-d", db, "-c", reports).stdout)
    pick = f"\\set i random(0, {args.users - 1})\n"
    rates = {"stock interim": [], "tripleplay interim": []}
    with scratch_database("tp_bench_radius_probe_stock") as stock:
        seed_stock(stock, args.users)
        for _ in range(args.rounds):
            for name, database, text in (("stock interim", stock, STOCK_INTERIM),
                                         ("tripleplay interim", db, TRIPLEPLAY_INTERIM)):
                path = home / "interim.sql"
                path.write_text(pick + text + "\n")
                rates[name].append(pgbench(database, path, args.interim_clients, args.seconds))
    for name, tps in rates.items():
        print(f"{name:>20}: " + ", ".join(f"{t:,.0f}" for t in tps) + " calls/s", flush=True)
    ratios = [t / s for t, s in zip(rates["tripleplay interim"], rates["stock interim"], strict=True) if s]
    print(f"{'tripleplay / stock':>20}: " + ", ".join(f"{r:.2f}x" for r in ratios))
    calls = int(_pg("psql", "-At", "-d", db, "-c", "SELECT last_value FROM probe_octets").stdout)
    handled = int(_pg("psql", "-At", "-d", db, "-c", reports).stdout) - before
    money = charged_minor(db)
    print(f"tripleplay calls {calls:,}, taken as new reports in the windows {handled:,}; {money}")
    return calls * 0.99 <= handled <= calls and not money["pending_not_held"] and not money["funds_not_equal_to_entries"]


def pgbench(database: str, script: Path, clients: int, seconds: int) -> float:
    out = _pg(
        "pgbench", "-n", "-M", "simple", "-f", str(script), "-c", str(clients), "-j", "2", "-T", str(seconds), database
    ).stdout
    found = re.search(r"tps = ([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--interim", action="store_true", help="also the Interim-Update probes (D295)")
    ap.add_argument("--interim-clients", type=int, default=16, help="connections of the interim probes")
    ap.add_argument("--rounds", type=int, default=3, help="stock and tripleplay interim runs, alternately")
    args = ap.parse_args()
    if (not 1 <= args.users <= 20_000 or not 1 <= args.seconds <= 120 or not 1 <= args.batch <= 10_000
            or not 1 <= args.interim_clients <= 64 or not 1 <= args.rounds <= 10):
        raise SystemExit("out of bounds: users 1..20000, seconds 1..120, batch 1..10000, interim clients 1..64, "
                         "rounds 1..10")
    print(f"pgbench simple-update (same run): {pgbench_baseline()['tps']} TPS", flush=True)
    with tempfile.TemporaryDirectory() as home, scratch_database("tp_bench_radius_probe") as db:
        env = django_env(db, Path(home))
        tripleplay("migrate", "-v", "0", env=env)
        seed_tripleplay(env, args.users, 10_000_000)
        _pg("psql", "-q", "-d", db, "-c", "VACUUM ANALYZE")
        for name, text in scripts(args.users, args.batch, int(time.time())).items():
            path = Path(home) / f"{name}.sql"
            path.write_text(text)
            tps = pgbench(db, path, args.clients, args.seconds)
            per = f"{tps * args.batch:,.0f} logins/s" if name == "post_auth_batch" else f"{tps:,.0f} calls/s"
            print(f"{name:>20}: {tps:,.1f} TPS  {per}", flush=True)
        if args.interim and not interim(args, env, db, Path(home)):
            print("interim checks: FAILED")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
