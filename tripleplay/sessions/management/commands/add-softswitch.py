"""`tripleplay add-softswitch CODE`: allow a voice switch on the sessions API; prints its token once."""

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.sessions.services import create_softswitch


class Command(BaseCommand):
    help = "Allow a softswitch (e.g. Kamailio) on the voice sessions API; prints its bearer token once."

    def add_arguments(self, parser):
        parser.add_argument("code", help="the switch's short name (letters, digits, . _ -)")
        parser.add_argument("--name", default="")

    def handle(self, *args, **o):
        try:
            switch, token = create_softswitch(Actor.system("cli"), code=o["code"], name=o["name"])
        except DomainError as e:
            raise CommandError(e.message) from e
        self.stdout.write(f"softswitch {switch.code}")
        self.stdout.write(f"token (Authorization: Bearer ..., shown once): {token}")
