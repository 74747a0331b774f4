"""The pipelined bulk path (PostgreSQL, an import of several chunks; docs/rating.md "The pipeline",
D55-D58): ``Pipeline`` overlaps the rating of chunk n+1 (a second thread) with the write of chunk n
(the main thread, every query)."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from tripleplay.core.actors import Actor
from tripleplay.rating.bulk.chunk import AllowanceConflict, Chunk, add_chunk
from tripleplay.rating.bulk.chunk import run_chunk as _run_chunk  # a name of this module: tests patch it
from tripleplay.rating.bulk.lookups import RatingMemo, UsageKey
from tripleplay.rating.bulk.money import Retry
from tripleplay.rating.bulk.result import BulkResult
from tripleplay.rating.bulk.usage import UsageRow

# The pipeline remembers the external ids it stored (about 100 bytes each) up to this many, then
# forgets those of committed chunks and queries for stored duplicates instead.
KNOWN_LIMIT = 2_000_000


class Pipeline:
    """PostgreSQL: the importer's Python work and the database's work overlap (two cores: while the
    main thread writes chunk n in its transaction, psycopg waits without the GIL and a second thread
    rates chunk n+1 and parses chunk n+2). The second thread never touches the database: the main
    thread does every query, on the one connection (so a caller's transaction sees it all).

    Chunk n+1 is rated before chunk n commits, as if it had: duplicates of chunk n's records are known
    from memory, and the allowance usage rows chunk n drew from are taken as chunk n leaves them
    (``carried``). Chunk n+1's transaction then locks the rows it drew from, in id order as before,
    and checks they hold exactly what its rating assumed. If not (another writer used them
    meanwhile), or if the chunk fails as a serial one can (the unique index, a closed customer, a
    deadlock), it rolls back whole and runs again the serial way (``run_chunk``), the importer's
    memory is dropped and the next chunk, rated on it, is fetched and rated again. The rule:
    docs/concurrency.md, "Bulk rating"."""

    def __init__(self, actor: Actor, source: str, service_type: str | None, collect: bool,
                 progress: Callable[[BulkResult], None] | None, out: BulkResult):
        self.actor, self.source, self.service_type, self.collect, self.progress, self.out = (
            actor, source, service_type, collect, progress, out)
        self.local = timezone.get_current_timezone()
        self.known: dict[str, int] = {}  # external id -> xDR id, of every record this import stored
        self.carried: dict[UsageKey, UsageRow] = {}  # allowance usage key -> row, as this import leaves it
        # The stored-duplicates query runs until a chunk finds none; then the unique index alone guards
        # (a stored duplicate makes the chunk fail, run again the serial way, and the query come back).
        self.check_stored = True
        self.forgot = False  # some ids this import stored were forgotten (KNOWN_LIMIT): always query
        self.memo = RatingMemo()
        # A driver cursor, never executed: the second thread formats COPY data with its adapters.
        connection.ensure_connection()
        self.copy_cursor = connection.connection.cursor()

    def _new(self, records: list) -> Chunk:
        chunk = Chunk(self.actor, self.source, self.service_type, records, self.collect, local=self.local,
                       memo=self.memo)
        chunk.copy_cursor = self.copy_cursor
        return chunk

    def run(self, chunks: Iterator[list]) -> None:
        out = self.out

        def read_and_prepare():
            t0 = time.perf_counter()
            records = next(chunks, None)
            out.seconds["read"] += time.perf_counter() - t0
            if records is None:
                return None
            chunk = self._new(records)
            chunk.prepare()
            return chunk

        # The import makes millions of short-lived objects without reference cycles (records, rows);
        # the cyclic collector's passes over them found nothing and cost about a tenth of the time.
        collecting = gc.isenabled()
        gc.disable()
        # The main thread waits for the database about a thousand times per 100,000 records; each time
        # it gets the GIL back only when the second thread yields it (every 5 ms by default), and the
        # database idles meanwhile.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            self._run(chunks, read_and_prepare)
        finally:
            sys.setswitchinterval(interval)
            self.copy_cursor.close()
            if collecting:
                gc.enable()

    def _run(self, chunks: Iterator[list], read_and_prepare: Callable) -> None:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rating") as helper:
            reading = helper.submit(read_and_prepare)
            pending = rating = None
            try:
                while True:
                    chunk = reading.result()
                    if chunk is not None:
                        # The second thread reads and parses chunk n+2 while this one fetches for n+1,
                        # then rates n+1 while this one writes n.
                        reading = helper.submit(read_and_prepare)
                        self._fetch(chunk, pending)
                        rating = helper.submit(chunk.rate, self.known, self.carried)
                    if pending is not None and not self._write(pending):
                        # The next chunk was rated on what pending assumed: wait for it, forget it, run
                        # pending again the serial way, then fetch and rate the next chunk again.
                        if chunk is not None:
                            rating.result()
                            for ext in chunk.known_added:
                                self.known.pop(ext, None)
                        self._run_serially(pending)
                        if chunk is not None:
                            chunk = self._new(chunk.records)
                            chunk.prepare()
                            self._fetch(chunk)
                            rating = helper.submit(chunk.rate, self.known, self.carried)
                    if chunk is None:
                        break
                    rating.result()
                    pending = chunk
            finally:
                # An error: let the second thread finish what it was given before the pool shuts down.
                for f in (reading, rating):
                    if f is not None:
                        f.cancel()

    def _fetch(self, chunk: Chunk, pending: Chunk | None = None) -> None:
        """``pending``: the chunk not committed yet (its ids must stay known: no query can see them)."""
        if len(self.known) > KNOWN_LIMIT:
            # Memory stays bounded on any file: forget the ids of committed chunks, and let the
            # stored-duplicates query find them from now on.
            keep = pending.known_added if pending is not None else ()
            self.known = {ext: self.known[ext] for ext in keep if ext in self.known}
            self.forgot = True
        chunk.fetch(self.known, self.check_stored or self.forgot)
        if not chunk.stored:
            self.check_stored = False

    def _write(self, chunk: Chunk) -> bool:
        """The chunk's transaction; False if it failed (and rolled back whole)."""
        try:
            with transaction.atomic():
                chunk.write()
                t1 = time.perf_counter()
        except (AllowanceConflict, Retry, IntegrityError, OperationalError):
            # Another writer (the same ids, an allowance used, a closed customer, a deadlock), or a
            # duplicate of a record stored before this import while the query was off.
            return False
        chunk.result.seconds["commit"] = time.perf_counter() - t1
        add_chunk(self.out, chunk, self.collect, self.progress)
        return True

    def _run_serially(self, chunk: Chunk) -> None:
        """A failed chunk, again, the serial way (its own reads and locks); the importer's memory of
        allowance rows is dropped and the stored-duplicates query comes back."""
        for ext in chunk.known_added:
            self.known.pop(ext, None)
        self.carried.clear()
        self.check_stored = True
        done = _run_chunk(self.actor, self.source, self.service_type, chunk.records, self.collect)
        for rec in done.recs:
            self.known[rec.ext] = rec.xdr_id
        add_chunk(self.out, done, self.collect, self.progress)


_Pipeline = Pipeline  # the tests' name (test_bulk.py patches its methods)
