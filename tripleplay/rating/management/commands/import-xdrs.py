import csv

from django.core.management.base import BaseCommand, CommandError

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.rating import pricing
from tripleplay.rating.services import ingest

BATCH = 1000


class Command(BaseCommand):
    help = "Import and rate usage records (xDRs) from a CSV file; prints progress and a summary."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with a header row: id, service_type, started_at, caller, callee, "
                                         "duration_seconds, login, bytes, destination, count")
        parser.add_argument("--service", choices=pricing.SERVICE_TYPES,
                            help="service type of rows without a service_type column/value")
        parser.add_argument("--source", default="csv", help="source name; ids are unique per source (default: csv)")

    def handle(self, *args, **o):
        actor = Actor.system("import-xdrs")
        counts = {"rated": 0, "error": 0, "duplicate": 0, "rejected": 0}
        rows = 0
        try:
            with open(o["file"], newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                batch = []
                for row in reader:
                    batch.append(row)
                    if len(batch) == BATCH:
                        rows += self._rate(actor, batch, o, counts)
                        self.stdout.write(f"{rows} rows processed")
                        batch = []
                if batch:
                    rows += self._rate(actor, batch, o, counts)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise CommandError(f"cannot read {o['file']}: {e}") from e
        except DomainError as e:
            raise CommandError(e.message) from e
        self.stdout.write(f"done: {rows} rows, rated {counts['rated']}, errors {counts['error']}, "
                          f"duplicates {counts['duplicate']}, rejected {counts['rejected']}")

    def _rate(self, actor, batch, o, counts) -> int:
        for result in ingest(actor, batch, source=o["source"], service_type=o["service"]):
            counts[result.status] += 1
        return len(batch)
