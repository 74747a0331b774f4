"""`tripleplay create-api-client NAME --role ROLE`: a REST API client and its bearer token.

Only the token's hash is stored, so the token is printed this once. With --quiet only the token is
printed (for scripts: ``TOKEN=$(tripleplay create-api-client ci --role support --quiet)``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tripleplay.access.services import create_api_client
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a REST API client and print its token (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a unique name for the client, e.g. the system that uses it")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role],
                            help="admin: everything; finance: customers, accounts and money; support: read-only")
        parser.add_argument("--quiet", action="store_true", help="print only the token")

    def handle(self, *args, **options):
        try:
            client, token = create_api_client(Actor.system("cli"), name=options["name"], role=options["role"])
        except DomainError as e:
            raise CommandError(e.message) from e
        if options["quiet"]:
            self.stdout.write(token)
            return
        self.stdout.write(f"Created API client {client.name!r} (id {client.pk}, role {client.role}).")
        self.stdout.write("Its token, shown only now (store it securely; it cannot be retrieved again):")
        self.stdout.write(token)
