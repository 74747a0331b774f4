import json

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.iptv import selectors
from tripleplay.iptv.platforms.base import PlatformError
from tripleplay.iptv.reconcile import reconcile


class Command(BaseCommand):
    help = "Compare a platform's subscribers with billing, report drift, optionally repair it."

    def add_arguments(self, parser):
        parser.add_argument("--platform", action="append", help="platform code (repeatable; default: all enabled)")
        parser.add_argument("--repair", action="store_true", help="enqueue commands that repair the drift")
        parser.add_argument("--json", action="store_true", help="print the full report as JSON")

    def handle(self, *args, **o):
        codes = o["platform"] or [p.code for p in selectors.platforms().filter(enabled=True)]
        drift_found = False
        for code in codes:
            try:
                platform = selectors.platform_by_code(code)
                report = reconcile(Actor.system("cli"), platform, repair=o["repair"])
            except PlatformError as e:
                raise CommandError(f"{code}: platform error: {e}") from e
            except Exception as e:
                raise CommandError(f"{code}: {e}") from e
            drift_found |= bool(report.drift)
            if o["json"]:
                self.stdout.write(json.dumps(report.as_dict(), indent=2))
            else:
                self.stdout.write(f"{code}: checked {report.checked}, in sync {report.in_sync}, "
                                  f"drift {report.summary() or 'none'}, repaired {report.repaired}")
                for d in report.drift:
                    self.stdout.write(f"  {d.kind:15} {d.subscriber_id:20} expected {d.expected} actual {d.actual}")
