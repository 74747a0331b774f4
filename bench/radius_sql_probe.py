"""bench/radius_sql_probe: what the SQL path's statements cost PostgreSQL alone (issue #14, D290), with
pgbench in simple-query mode as FreeRADIUS's rlm_sql sends them (no prepared statements), on a seeded
scratch database (bench/radius.py's subscribers):

    flock /tmp/tripleplay-bench.lock .venv/bin/python bench/radius_sql_probe.py [--users 1000] [--seconds 10]

Probes, each --clients connections for --seconds, a random login each call:
- authorize: `SELECT * FROM radius_sql_authorize_pap(...)`, an Access-Request's one statement;
- post_auth: `SELECT radius_sql_post_auth(...)`, one login recorded in its own transaction (D273);
- authorize+post_auth: both, one after the other (the per-login cost before D290);
- post_auth_batch: `radius_sql_post_auth_batch` with --batch logins (D290), reported in logins/s.
pgbench's own simple-update TPS from the same run is printed first (the machine's speed that day)."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import _pg, django_env, pgbench_baseline, scratch_database, tripleplay  # noqa: E402
from bench.radius import seed_tripleplay  # noqa: E402

NAS = "127.0.0.1"


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
    args = ap.parse_args()
    if not 1 <= args.users <= 20_000 or not 1 <= args.seconds <= 120 or not 1 <= args.batch <= 10_000:
        raise SystemExit("out of bounds: users 1..20000, seconds 1..120, batch 1..10000")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
