import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tripleplay.radius import server


class Command(BaseCommand):
    help = ("Write the FreeRADIUS configuration (rlm_rest into tripleplay, dynamic NAS clients) into a directory; "
            "then run it with `freeradius -f -d DIR`.")

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory to write (created; files overwritten)")
        parser.add_argument("--url", required=True, help="tripleplay's base URL as FreeRADIUS reaches it")
        parser.add_argument("--token", help="the rlm_rest password (default: TRIPLEPLAY_RADIUS_TOKEN)")
        parser.add_argument("--listen", default="127.0.0.1", help="address FreeRADIUS listens on")
        parser.add_argument("--auth-port", type=int, default=1812)
        parser.add_argument("--acct-port", type=int, default=1813)
        parser.add_argument("--client-network", default="127.0.0.0/8",
                            help="network NAS packets may come from (each NAS must still be configured)")
        parser.add_argument("--client-lifetime", type=int, default=60, help="seconds FreeRADIUS keeps a NAS's secret")
        parser.add_argument("--threads", type=int, default=16, help="FreeRADIUS threads = rlm_rest connections")
        parser.add_argument("--run-dir", help="pid file and logs (default OUT/run)")
        parser.add_argument("--no-sql", action="store_true",
                            help="rest only: no rlm_sql path even on PostgreSQL (as TRIPLEPLAY_RADIUS_SQL=0)")

    def handle(self, *args, **o):
        token = o["token"] or os.environ.get("TRIPLEPLAY_RADIUS_TOKEN", "")
        if not token:
            raise CommandError("no token: pass --token or set TRIPLEPLAY_RADIUS_TOKEN (the same as tripleplay's)")
        for name in ("auth_port", "acct_port"):
            if not 1 <= o[name] <= 65535:
                raise CommandError(f"--{name.replace('_', '-')} must be from 1 to 65535")
        if not 1 <= o["threads"] <= 1024 or not 1 <= o["client_lifetime"] <= 86400:
            raise CommandError("--threads must be from 1 to 1024 and --client-lifetime from 1 to 86400")
        try:
            sql = {} if o["no_sql"] else server.sql_settings_from_database()
        except ValueError as e:
            raise CommandError(str(e)) from e
        if server.owner_login(sql):
            self.stderr.write(f"warning: the SQL path logs in as {sql['sql_user']}, tripleplay's own database user, "
                              "with the owner's rights on the whole database; create its own role with "
                              "`tripleplay radius-sql-role` and set TRIPLEPLAY_RADIUS_SQL_URL (D301)")
        settings = server.Settings(tripleplay_url=o["url"], token=token, auth_port=o["auth_port"],
                                   acct_port=o["acct_port"], listen_address=o["listen"],
                                   client_network=o["client_network"], client_lifetime=o["client_lifetime"],
                                   threads=o["threads"],
                                   # PostgreSQL: plain PAP through rlm_sql into tripleplay's database (D272),
                                   # as TRIPLEPLAY_RADIUS_SQL_URL's role, or else tripleplay's own login (the
                                   # file is written 0600; D301).
                                   **sql)
        try:
            out = server.render_config(Path(o["out"]), settings, Path(o["run_dir"]) if o["run_dir"] else None)
        except ValueError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(f"FreeRADIUS configuration written to {out}\nrun it with: freeradius -f -d {out}")
