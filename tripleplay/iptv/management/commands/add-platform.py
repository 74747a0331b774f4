import json

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.iptv.platforms.registry import kinds


class Command(BaseCommand):
    help = "Configure an IPTV platform (its API URL and credentials); prints its inbound token once."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--kind", required=True, choices=kinds())
        parser.add_argument("--url", required=True, help="base URL of the platform's API")
        parser.add_argument("--name")
        parser.add_argument("--username", default="")
        parser.add_argument("--secret", default="", help="password or API key (stored encrypted)")
        parser.add_argument("--timeout", default="10", help="seconds per call")
        parser.add_argument("--options", default="{}", help="JSON object of platform options")

    def handle(self, *args, **o):
        try:
            options = json.loads(o["options"])
            actor = Actor.system("cli")
            platform = create_platform(actor, code=o["code"], name=o["name"] or o["code"], kind=o["kind"],
                                       base_url=o["url"], username=o["username"], secret=o["secret"],
                                       timeout_seconds=o["timeout"], options=options)
            token = issue_inbound_token(actor, platform)
        except (DomainError, json.JSONDecodeError) as e:
            raise CommandError(str(getattr(e, "message", e))) from e
        self.stdout.write(f"platform {platform.code} ({platform.kind}) at {platform.base_url}")
        self.stdout.write(f"inbound token (the platform's credential for tripleplay's XML/PPV API, shown once): {token}")
