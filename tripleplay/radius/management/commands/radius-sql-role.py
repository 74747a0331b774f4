from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from tripleplay.radius import sqlrole


class Command(BaseCommand):
    help = ("Create or update the PostgreSQL role of FreeRADIUS's SQL path (D300, D301): LOGIN and nothing else, "
            "allowed to call only the SQL path's three functions in this database. Idempotent; prints what it did. "
            "Needs CREATEROLE (or a superuser) to create the role or set its password; run it as that admin with "
            "tripleplay's settings, after `tripleplay migrate`. Then set TRIPLEPLAY_RADIUS_SQL_URL to the role's URL.")

    def add_arguments(self, parser):
        parser.add_argument("--name", help="the role (default: TRIPLEPLAY_RADIUS_SQL_URL's user)")
        parser.add_argument("--password-file", type=Path,
                            help="a file holding the role's password (first line); without it the password is unchanged")
        parser.add_argument("--check", action="store_true",
                            help="change nothing: say what is wrong with the role (exit 1 if anything)")

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("the SQL path and its role are PostgreSQL only (DATABASE_URL is not PostgreSQL)")
        name = o["name"] or sqlrole.configured_role()
        if not name:
            raise CommandError("no role: pass --name or set TRIPLEPLAY_RADIUS_SQL_URL")
        password = None
        if o["password_file"]:
            try:
                text = o["password_file"].read_text()
            except OSError as e:
                raise CommandError(f"--password-file: {e.strerror}") from None
            password = text.splitlines()[0].strip() if text.strip() else ""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if o["check"]:
                    problems = sqlrole.verify(cursor, name)
                    for problem in problems:
                        self.stdout.write(f"role {name}: {problem}")
                    if problems:
                        raise SystemExit(1)
                    self.stdout.write(f"role {name}: as it should be")
                    return
                for line in sqlrole.ensure_role(cursor, name, password):
                    self.stdout.write(line)
        except sqlrole.RoleError as e:
            raise CommandError(str(e)) from None
        except Exception as e:
            if type(e).__name__ == "InsufficientPrivilege" or getattr(e.__cause__, "sqlstate", "") == "42501":
                raise CommandError(f"{e} (creating a role or setting its password needs CREATEROLE)") from None
            raise
        self.stdout.write(f"role {name}: may call {', '.join(sqlrole.FUNCTIONS)} and nothing else")
