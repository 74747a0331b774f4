"""`tripleplay rotate-credentials`: every secret stored under the credentials key (iptv/secrets.py)
encrypted again with its first key, in one transaction: the platforms' secrets (iptv), the NAS secrets
and internet passwords (radius), the webhook endpoints' signing secrets (webhooks). A whole-system
command, so it lives in ops, the top layer; each app rewrites its own rows."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.iptv.configuration import rotate_credentials
from tripleplay.radius.services import rotate_secrets
from tripleplay.webhooks.services import rotate_stored_secrets


class Command(BaseCommand):
    help = ("Encrypt every stored secret (platforms, NAS, internet passwords, webhook endpoints) again with the "
            "first key of TRIPLEPLAY_CREDENTIALS_KEY (after putting a new key in front of the old one).")

    def handle(self, *args, **o):
        actor = Actor.system("cli")
        try:
            with transaction.atomic():
                platforms = rotate_credentials(actor)
                radius = rotate_secrets(actor)
                endpoints = rotate_stored_secrets(actor)
        except DomainError as e:
            raise CommandError(f"{e.message} (nothing was changed)") from None
        self.stdout.write(f"{platforms} platform secret(s), {radius['nas_secrets']} NAS secret(s), "
                          f"{radius['internet_passwords']} internet password(s) and {endpoints} webhook endpoint(s) "
                          "encrypted with the first credentials key")
