from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.iptv.configuration import rotate_credentials


class Command(BaseCommand):
    help = ("Encrypt every stored platform secret again with the first key of TRIPLEPLAY_CREDENTIALS_KEY "
            "(after putting a new key in front of the old one).")

    def handle(self, *args, **o):
        try:
            count = rotate_credentials(Actor.system("cli"))
        except DomainError as e:
            raise CommandError(e.message) from None
        self.stdout.write(f"{count} platform secret(s) encrypted with the first credentials key")
