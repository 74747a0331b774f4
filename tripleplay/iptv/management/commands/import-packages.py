import json

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.iptv import selectors
from tripleplay.iptv.catalog_import import import_from_platform
from tripleplay.iptv.platforms.base import PlatformError


class Command(BaseCommand):
    help = "Import channel packages (and PPV events) from IPTV platforms; prints the diff."

    def add_arguments(self, parser):
        parser.add_argument("--platform", action="append", help="platform code (repeatable; default: all enabled)")
        parser.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        codes = o["platform"] or [p.code for p in selectors.platforms().filter(enabled=True)]
        for code in codes:
            try:
                report = import_from_platform(Actor.system("cli"), selectors.platform_by_code(code),
                                              apply=not o["dry_run"])
            except PlatformError as e:
                raise CommandError(f"{code}: platform error: {e}") from e
            except Exception as e:
                raise CommandError(f"{code}: {e}") from e
            if o["json"]:
                self.stdout.write(json.dumps(report.as_dict(), indent=2))
                continue
            verb = "would change" if o["dry_run"] else "changed"
            self.stdout.write(f"{code}: {verb}:")
            for section in ("packages", "ppv_events"):
                counts = getattr(report, section)
                self.stdout.write("  " + section + ": " + ", ".join(f"{k} {len(v)}" for k, v in counts.items()))
                for k in ("created", "updated", "retired"):
                    for ext in counts[k]:
                        self.stdout.write(f"    {k:8} {ext} {report.changes.get(ext, '')}")
