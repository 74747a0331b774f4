"""Set-based rating of many xDRs: the CSV import and the batch API (docs/rating.md, "The bulk path").

The same rules and the same results as the per-record path (``services.ingest``): the same parser, the
same pricing functions, allowances taken in record order, one rounding per xDR. What changes is how the
database is used, per chunk of records, in ONE transaction per chunk:

1. duplicates: one query for the chunk's external ids (and a set for copies inside the chunk);
2. lookups: accounts, subscriptions, rate tables, rates and allowances of the whole chunk, loaded
   into dicts (longest prefix = one dict probe per prefix length present in the table);
3. allowance usage rows the chunk needs, locked (PostgreSQL: ``FOR UPDATE`` in id order), then
   consumed in memory record by record, written back with one statement;
4. money: ONE ledger charge per (customer, chunk) for the sum of that customer's costs, the funds
   rows updated in one statement after locking them in ascending customer order (the lock order of
   docs/concurrency.md), each entry's ``balance_after`` read back from that UPDATE;
5. the xDR rows, pointing at their entry: COPY on PostgreSQL, executemany on SQLite.

A concurrent intake of the same ids (unique index) or a customer closed meanwhile (the funds UPDATE
refuses closed customers) rolls the chunk back whole; it is then run again from the start, and finds
those records duplicate (or the customer closed). Nothing of a rolled-back chunk remains.

On PostgreSQL an import of several chunks is pipelined (``pipeline.Pipeline``, docs/rating.md "The
pipeline", D55-D58): the same steps, but a second thread parses and rates chunk n+1 while the main thread
writes chunk n, and each chunk's transaction checks under its locks what the rating assumed.

The modules, from the entry point down (each imports only those below it):

- ``__init__``: ``rate_bulk``, the entry point; it cuts the records into chunks (``_chunks``).
- ``pipeline``: ``Pipeline``, the two-thread mode (PostgreSQL, several chunks).
- ``chunk``: ``Chunk``, one chunk's steps (parse, rate, write; serial and pipelined), the xDR rows and
  the answers; ``run_chunk`` (one chunk, one transaction, retried) and ``add_chunk``.
- ``usage``: allowance usage rows: locked, consumed in record order with the cost priced, written back
  (``Usage``); the cost is ``pricing.usage_cost_minor``, as per record.
- ``lookups``: the reads a chunk is rated with (accounts, subscriptions, rate tables, allowances) and the
  rating context of a record (``Lookups``, ``RatingMemo``); the rules it applies per record are
  ``rating.cascade``'s, the same calls as the per-record path.
- ``money``: one ledger charge per (customer, chunk), posted through the ledger's set-based API
  (tripleplay.ledger.bulk: the funds UPDATE, the entries and their audit events) (``ChunkMoney``).
- ``result``: ``BulkResult`` (an import's counts and timings) and ``BulkRecord`` (one record inside a chunk).
- ``sql``: the xDR and allowance usage rows as written (column types); the database helpers they are
  written with (COPY, id reservation, ``= ANY`` lookups) are tripleplay.core.bulk.

``Lookups``, ``Usage`` and ``ChunkMoney`` are parts of ``Chunk`` (its bases): their methods use the
chunk's attributes (set in ``Chunk.__init__``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice

from django.db import connection

from tripleplay.core.actors import Actor
from tripleplay.core.errors import InvalidInput
from tripleplay.rating import pricing
from tripleplay.rating.bulk.chunk import add_chunk
from tripleplay.rating.bulk.chunk import run_chunk as _run_chunk  # a name of this module: tests patch it
from tripleplay.rating.bulk.pipeline import Pipeline
from tripleplay.rating.bulk.result import BulkResult

__all__ = ["CHUNK_SIZE", "BulkResult", "rate_bulk"]

# Records per transaction, and so ledger entries per customer: one per customer and chunk (D44, D56).
CHUNK_SIZE = 200_000
# The pipeline's first chunk holds at most this many records, and so does the end of the last one: the
# second thread has nothing to overlap until the first chunk is rated, the main thread nothing to write
# after the last, so those are kept small.
FIRST_CHUNK = 20_000


def rate_bulk(actor: Actor, records: Iterable, *, source: str = "api", service_type: str | None = None,
              chunk_size: int = CHUNK_SIZE, collect: bool = False,
              progress: Callable[[BulkResult], None] | None = None) -> BulkResult:
    """Store and rate ``records`` (dicts, as for ``services.ingest``) chunk by chunk. ``collect`` keeps one
    IngestResult per record, in order (the API); otherwise only counts (the CSV import of millions)."""
    if not isinstance(source, str) or not source.strip() or len(source) > 64:
        raise InvalidInput("source must be a non-empty name of at most 64 characters", details={"field": "source"})
    if service_type is not None and service_type not in pricing.SERVICE_TYPES:
        raise InvalidInput(f"service_type must be one of {', '.join(pricing.SERVICE_TYPES)}",
                           details={"field": "service_type"})
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidInput("chunk_size must be a positive integer", details={"field": "chunk_size"})
    out = BulkResult(results=[] if collect else None)
    if connection.vendor == "postgresql":
        # Several chunks (a file): pipelined; one (an API call): nothing to overlap. One record past the
        # first chunk tells which.
        t0 = time.perf_counter()
        it = iter(records)
        first = list(islice(it, min(chunk_size, FIRST_CHUNK)))
        more = list(islice(it, 1))
        out.seconds["read"] += time.perf_counter() - t0
        if more:
            Pipeline(actor, source, service_type, collect, progress, out).run(
                _chunks(chain(first, more, it), chunk_size, min(chunk_size, FIRST_CHUNK)))
            return out
        chunks = iter([first] if first else [])
    else:
        chunks = _chunks(records, chunk_size)
    while True:
        t0 = time.perf_counter()
        chunk = next(chunks, None)
        out.seconds["read"] += time.perf_counter() - t0
        if chunk is None:
            break
        add_chunk(out, _run_chunk(actor, source, service_type, chunk, collect), collect, progress)
    return out


def _chunks(records: Iterable, size: int, first: int | None = None) -> Iterator[list]:
    """Lists of ``size`` records. With ``first`` (the pipeline): the first chunk holds at most ``first``
    records, and so does the end of the last one when that is shorter than ``size`` (then known to be
    the last): nothing overlaps the first chunk's rating nor the last one's write."""
    it = iter(records)
    if first is not None:
        if not (chunk := list(islice(it, first))):
            return
        yield chunk
    while chunk := list(islice(it, size)):
        if first is not None and first < len(chunk) < size:
            yield chunk[:-first]
            yield chunk[-first:]
        else:
            yield chunk
