"""`tripleplay createadmin`: create an admin operator login, or reset its password (non-interactive)."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tripleplay.access.services import create_operator
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an admin operator login, or reset its password (non-interactive)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="login name (default: admin)")
        parser.add_argument("--password",
                            help="at least 8 characters; default: the TRIPLEPLAY_ADMIN_PASSWORD environment "
                                 "variable (preferred: a command line is visible to other local users)")
        parser.add_argument("--email", default="", help="e-mail address (set when the login is created)")

    def handle(self, *args, **options):
        username = options["username"].strip()
        password = options["password"] or os.environ.get("TRIPLEPLAY_ADMIN_PASSWORD", "")
        if not password:
            raise CommandError("no password: pass --password or set TRIPLEPLAY_ADMIN_PASSWORD")
        existed = get_user_model().objects.filter(username=username).exists()
        try:
            create_operator(Actor.system("cli"), username=username, password=password, role=Role.ADMIN,
                            email=options["email"])
        except DomainError as e:
            raise CommandError(e.message) from e
        verb = "Updated" if existed else "Created"
        self.stdout.write(self.style.SUCCESS(f"{verb} admin operator {username!r}.") +
                          " Sign in at /admin/.")
