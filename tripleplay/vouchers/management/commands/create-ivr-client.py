"""`tripleplay create-ivr-client NAME`: an IVR platform's client and its bearer token, which opens only
POST /api/v1/ivr/voucher-redemptions (docs/vouchers.md). Only the token's hash is stored, so it is
printed this once; with --quiet only the token."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.vouchers.services import create_ivr_client


class Command(BaseCommand):
    help = "Create an IVR client (voucher redemption by phone) and print its token (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a unique name, e.g. the IVR platform's host")
        parser.add_argument("--quiet", action="store_true", help="print only the token")

    def handle(self, *args, **options):
        try:
            client, token = create_ivr_client(Actor.system("cli"), name=options["name"])
        except DomainError as e:
            raise CommandError(e.message) from e
        if options["quiet"]:
            self.stdout.write(token)
            return
        self.stdout.write(f"Created IVR client {client.name!r} (id {client.pk}).")
        self.stdout.write("Its token, shown only now (configure it on the IVR; it cannot be retrieved again):")
        self.stdout.write(token)
