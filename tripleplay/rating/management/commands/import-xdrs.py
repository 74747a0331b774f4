import csv
import os
import resource
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError
from tripleplay.rating import pricing
from tripleplay.rating.bulk import CHUNK_SIZE, rate_bulk


def _rows(reader):
    """csv.DictReader's rows (missing fields None, extra ones in a list under the key None), without
    its per-row overhead for the usual row of exactly the header's length."""
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for row in reader:
        if len(row) == width:
            yield dict(zip(header, row, strict=True))
        elif row:  # DictReader skips empty lines
            record = dict(zip(header, row[:width], strict=False))
            for name in header[len(row):]:
                record[name] = None
            if len(row) > width:
                record[None] = row[width:]
            yield record


def _cpu_line() -> str:
    """CPU seconds used by this process and by its database server process, when that one is local
    (Linux /proc): on a shared machine, what the import costs whatever the load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    line = f"importer {usage.ru_utime + usage.ru_stime:.2f} s (peak memory {usage.ru_maxrss // 1024} MB)"
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            line += f", database backend {(int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'):.2f} s"
        except (OSError, ValueError, IndexError):
            line += ", database backend unknown (not local)"
    return line


class Command(BaseCommand):
    help = "Import and rate usage records (xDRs) from a CSV file; prints progress and a summary."
    # The system checks load the URL configuration and so the whole API (a third of a second per run);
    # `tripleplay check` and every server start run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with a header row: id, service_type, started_at, caller, callee, "
                                         "duration_seconds, login, bytes, destination, count")
        parser.add_argument("--service", choices=pricing.SERVICE_TYPES,
                            help="service type of rows without a service_type column/value")
        parser.add_argument("--source", default="csv", help="source name; ids are unique per source (default: csv)")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE,
                            help=f"records rated per transaction (default: {CHUNK_SIZE})")

    def handle(self, *args, **o):
        if o["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        actor = Actor.system("import-xdrs")
        started = time.perf_counter()
        try:
            size = os.path.getsize(o["file"])
            with open(o["file"], newline="", encoding="utf-8") as f:
                reader = _rows(csv.reader(f))

                def progress(done):
                    # The byte position read so far (ahead by at most one read buffer): good enough for a bar.
                    share = min(1.0, f.buffer.tell() / size) if size else 1.0
                    bar = "#" * int(share * 30)
                    self.stdout.write(f"[{bar:<30}] {share:4.0%} {done.rows} rows processed")

                result = rate_bulk(actor, reader, source=o["source"], service_type=o["service"],
                                   chunk_size=o["chunk_size"], progress=progress)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise CommandError(f"cannot read {o['file']}: {e}") from e
        except DomainError as e:
            raise CommandError(e.message) from e
        wall = time.perf_counter() - started
        s, c = result.seconds, result.counts
        rate = f", {result.rows / wall:,.0f} rows/s" if wall > 0 else ""
        self.stdout.write(f"time: {wall:.2f} s{rate} (read {s['read']:.2f} s, parse {s['parse']:.2f} s, rate "
                          f"{s['rate']:.2f} s, write {s['write']:.2f} s, commit {s['commit']:.2f} s); "
                          f"ledger entries {result.entries}")
        if o["verbosity"] > 1:
            self.stdout.write("database steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.detail.items()))
            self.stdout.write(f"cpu: {_cpu_line()}")
        self.stdout.write(f"done: {result.rows} rows, rated {c['rated']}, errors {c['error']}, "
                          f"duplicates {c['duplicate']}, rejected {c['rejected']}")
