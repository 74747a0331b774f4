"""Set-based rating of many xDRs: the CSV import and the batch API (docs/rating.md, "Bulk path").

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

On PostgreSQL an import of several chunks is pipelined (``_Pipeline``, docs/rating.md "The pipeline",
D55-D58): the same steps, but a second thread parses and rates chunk n+1 while the main thread writes
chunk n, and each chunk's transaction checks under its locks what the rating assumed.
"""

from __future__ import annotations

import gc
import io
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from hashlib import sha256
from itertools import chain, islice

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import Jsonb

from tripleplay import clock
from tripleplay.catalog.models import PlanAllowance
from tripleplay.core.actors import Actor
from tripleplay.core.errors import InvalidInput
from tripleplay.customers.models import Status
from tripleplay.ledger.models import EntryKind, Funds
from tripleplay.money import currency_exponent, rounding_mode
from tripleplay.rating import pricing
from tripleplay.rating.models import AllowanceUsage, Rate, RateTable, XdrStatus
from tripleplay.rating.services import USAGE_SOURCE, IngestResult, _jsonable, _parse, external_id, peak_window
from tripleplay.subscriptions import periods

# Records per transaction, and so ledger entries per customer: one per customer and chunk (D44, D56).
CHUNK_SIZE = 200_000
# The pipeline remembers the external ids it stored (about 100 bytes each) up to this many, then
# forgets those of committed chunks and queries for stored duplicates instead.
KNOWN_LIMIT = 2_000_000
# The pipeline's first chunk holds at most this many records, and so does the end of the last one: the
# second thread has nothing to overlap until the first chunk is rated, the main thread nothing to write
# after the last, so those are kept small.
FIRST_CHUNK = 20_000
# A chunk rolled back by a concurrent writer runs again (then its records are duplicates); each failure
# means another importer committed some of the same records, so N importers fail a chunk at most N-1 times.
ATTEMPTS = 5
_BLOCKED, _CLOSED = Status.BLOCKED.value, Status.CLOSED.value
_VOICE, _DATA = pricing.VOICE, pricing.DATA

# The rows as written (COPY / INSERT), column -> PostgreSQL type.
_T, _I8, _I4, _TS, _J, _B = "text", "int8", "int4", "timestamptz", "jsonb", "bool"
XDR_COLUMNS = {"id": _I8, "source": _T, "external_id": _T, "service_type": _T, "account_id": _I8, "caller": _T,
               "callee": _T, "login": _T, "bytes": _I8, "count": _I4, "destination": _T, "started_at": _TS,
               "duration_seconds": _I4, "raw": _J, "status": _T, "error_code": _T, "error_reason": _T, "rate_id": _I8,
               "billed_quantity": _I8, "allowance_used": _I8, "offpeak": _B, "cost_minor": _I8, "currency": _T,
               "ledger_entry_id": _I8, "received_at": _TS, "rated_at": _TS}
ENTRY_COLUMNS = {"id": _I8, "actor_kind": _T, "actor_ref": _T, "actor_name": _T, "customer_id": _I8,
                 "account_id": _I8, "kind": _T, "amount_minor": _I8, "currency": _T, "balance_after_minor": _I8,
                 "description": _T, "reason": _T, "source": _T, "reference": _T, "service_type": _T,
                 "idempotency_key": _T, "request_fingerprint": _T, "created_at": _TS, "data": _J}
# The pipeline's xDR COPY: the raw column's values given as binary jsonb already encoded (version byte 1,
# then the JSON text), sent as they are ("bytea" only tells the driver not to encode them; in a binary
# COPY the server reads every field with the receive function of the column's own type, jsonb here).
# Encoding "{}" once instead of once per rated row is about a fifth of formatting the rows.
_COPY_XDR_COLUMNS = {**XDR_COLUMNS, "raw": "bytea"}
_JSONB_EMPTY = b"\x01{}"


def _jsonb_bytes(value) -> bytes:
    return b"\x01" + json.dumps(value).encode()


USAGE_COLUMNS = {"id": _I8, "assignment_id": _I8, "allowance_id": _I8, "period_index": _I4, "period_start": "date",
                 "period_end": "date", "granted": _I8, "used": _I8}
EVENT_COLUMNS = {"id": _I8, "actor_kind": _T, "actor_ref": _T, "actor_name": _T, "at": _TS, "action": _T,
                 "object_type": _T, "object_id": _T, "data": _J}


@dataclass
class BulkResult:
    rows: int = 0
    counts: dict = field(default_factory=lambda: {"rated": 0, "error": 0, "duplicate": 0, "rejected": 0})
    results: list[IngestResult] | None = None
    # read: taking records from the iterable (the CSV reader); commit: the chunk's COMMIT
    seconds: dict = field(default_factory=lambda: {"read": 0.0, "parse": 0.0, "rate": 0.0, "write": 0.0,
                                                   "commit": 0.0})
    entries: int = 0
    detail: dict = field(default_factory=dict)  # seconds of the database steps (in parse, rate, write)


class _Retry(Exception):
    """The chunk must run again (a customer was closed between the lookup and the funds UPDATE)."""


def _as_is(text: str) -> str:
    return text


def _jsonb_text(text: str) -> Jsonb:
    """A jsonb value for COPY from JSON text already encoded."""
    return Jsonb(text, dumps=_as_is)


class _Conflict(Exception):
    """A pipelined chunk's assumption failed (an allowance row changed by another writer): it runs again
    the serial way."""


@dataclass
class _Memo:
    """What the pipeline's chunks share: the rating contexts and what they were built from."""
    signature: list = field(default_factory=list)  # every table and rate value read
    tables: dict = field(default_factory=dict)
    allowances: dict = field(default_factory=dict)
    assignments: dict = field(default_factory=dict)  # account -> its subscription rows
    contexts: dict = field(default_factory=dict)
    periods: dict = field(default_factory=dict)


class _Pipeline:
    """PostgreSQL: the importer's Python work and the database's work overlap (two cores: while the
    main thread writes chunk n in its transaction, psycopg waits without the GIL and a second thread
    rates chunk n+1 and parses chunk n+2). The second thread never touches the database: the main
    thread does every query, on the one connection (so a caller's transaction sees it all).

    Chunk n+1 is rated before chunk n commits, as if it had: duplicates of chunk n's records are known
    from memory, and the allowance usage rows chunk n drew from are taken as chunk n leaves them
    (``carried``). Chunk n+1's transaction then locks the rows it drew from, in id order as before,
    and checks they hold exactly what its rating assumed. If not (another writer used them
    meanwhile), or if the chunk fails as a serial one can (the unique index, a closed customer, a
    deadlock), it rolls back whole and runs again the serial way (``_run_chunk``), the importer's
    memory is dropped and the next chunk, rated on it, is fetched and rated again. The rule:
    docs/concurrency.md, "Bulk rating"."""

    def __init__(self, actor: Actor, source: str, service_type: str | None, collect: bool,
                 progress: Callable[[BulkResult], None] | None, out: BulkResult):
        self.actor, self.source, self.service_type, self.collect, self.progress, self.out = (
            actor, source, service_type, collect, progress, out)
        self.local = timezone.get_current_timezone()
        self.known: dict[str, int] = {}  # external id -> xDR id, of every record this import stored
        self.carried: dict[tuple, list] = {}  # allowance usage key -> row, as this import leaves it
        # The stored-duplicates query runs until a chunk finds none; then the unique index alone guards
        # (a stored duplicate makes the chunk fail, run again the serial way, and the query come back).
        self.check_stored = True
        self.forgot = False  # some ids this import stored were forgotten (KNOWN_LIMIT): always query
        self.memo = _Memo()
        # A driver cursor, never executed: the second thread formats COPY data with its adapters.
        connection.ensure_connection()
        self.copy_cursor = connection.connection.cursor()

    def _new(self, records: list) -> _Chunk:
        chunk = _Chunk(self.actor, self.source, self.service_type, records, self.collect, local=self.local,
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

    def _fetch(self, chunk: _Chunk, pending: _Chunk | None = None) -> None:
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

    def _write(self, chunk: _Chunk) -> bool:
        """The chunk's transaction; False if it failed (and rolled back whole)."""
        try:
            with transaction.atomic():
                chunk.write()
                t1 = time.perf_counter()
        except (_Conflict, _Retry, IntegrityError, OperationalError):
            # Another writer (the same ids, an allowance used, a closed customer, a deadlock), or a
            # duplicate of a record stored before this import while the query was off.
            return False
        chunk.result.seconds["commit"] = time.perf_counter() - t1
        _add(self.out, chunk, self.collect, self.progress)
        return True

    def _run_serially(self, chunk: _Chunk) -> None:
        """A failed chunk, again, the serial way (its own reads and locks); the importer's memory of
        allowance rows is dropped and the stored-duplicates query comes back."""
        for ext in chunk.known_added:
            self.known.pop(ext, None)
        self.carried.clear()
        self.check_stored = True
        done = _run_chunk(self.actor, self.source, self.service_type, chunk.records, self.collect)
        for rec in done.recs:
            self.known[rec.ext] = rec.xdr_id
        _add(self.out, done, self.collect, self.progress)


class _Rec:
    """One stored record of a chunk: its fields as parsed and, once rated, its outcome."""

    __slots__ = ("ext", "raw", "f", "code", "reason", "account_id", "customer_id", "currency", "rate_id",
                 "terms", "unit", "billed", "keys", "free", "cost", "offpeak", "xdr_id", "entry_id")

    def __init__(self, ext: str, raw: dict):
        self.ext, self.raw = ext, raw
        self.code = self.reason = ""
        self.account_id = self.customer_id = self.rate_id = self.entry_id = self.cost = None
        self.currency = ""
        self.billed = self.free = 0
        self.offpeak = False
        self.keys = ()


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
            _Pipeline(actor, source, service_type, collect, progress, out).run(
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
        _add(out, _run_chunk(actor, source, service_type, chunk, collect), collect, progress)
    return out


def _run_chunk(actor: Actor, source: str, service_type: str | None, chunk: list, collect: bool) -> _Chunk:
    """One chunk, one transaction (run again on a concurrent writer's conflict, up to ATTEMPTS times)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            done = _Chunk(actor, source, service_type, chunk, collect)
            with transaction.atomic():
                done.run()
                t1 = time.perf_counter()
            done.result.seconds["commit"] = time.perf_counter() - t1
            return done
        except (_Retry, IntegrityError, OperationalError):
            # A concurrent writer: the same ids (unique index), a closed customer, a deadlock.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _add(out: BulkResult, done: _Chunk, collect: bool, progress: Callable[[BulkResult], None] | None) -> None:
    """Count a committed chunk into the import's result."""
    r = done.result
    out.rows += len(done.records)
    out.entries += r.entries
    for k, v in r.counts.items():
        out.counts[k] += v
    for k in ("parse", "rate", "write", "commit"):
        out.seconds[k] += r.seconds.get(k, 0.0)
    for k, v in r.detail.items():
        out.detail[k] = out.detail.get(k, 0.0) + v
    if collect:
        out.results.extend(r.results)
    if progress is not None:
        progress(out)


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


def _batches(values: list, size: int | None = None) -> Iterator[list]:
    size = size or (10_000 if connection.vendor == "postgresql" else 900)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _select_in(sql: str, params: list, values: list) -> list[tuple]:
    """Run ``sql`` whose ``{in}`` is "is one of ``values``": one ``= ANY(array)`` on PostgreSQL (one
    parameter, however many values), IN lists in batches on SQLite."""
    if not values:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(sql.replace("{in}", "= ANY(%s)"), [*params, values])
            return cur.fetchall()
        rows = []
        for batch in _batches(values):
            cur.execute(sql.replace("{in}", f"IN ({', '.join(['%s'] * len(batch))})"), [*params, *batch])
            rows += cur.fetchall()
        return rows


def _date(value):
    """A DATE column as a date (SQLite's raw cursor answers text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


_SEQUENCES: dict[str, str] = {}


def _reserve_ids(table: str, n: int) -> list[int]:
    """``n`` new primary keys of ``table``, taken now so that rows can point at each other before they
    are written (xDR -> ledger entry) and be written by COPY."""
    if n == 0:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            sequence = _SEQUENCES.get(table)
            if sequence is None:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = _SEQUENCES[table] = cur.fetchone()[0]
            cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n])
            return [r[0] for r in cur.fetchall()]
        # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE): nobody takes these ids meanwhile.
        cur.execute(f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),"
                    f" coalesce((SELECT max(id) FROM {table}), 0))")
        start = cur.fetchone()[0] + 1
        return list(range(start, start + n))


def _insert_rows(table: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """Binary COPY on PostgreSQL (``columns``: name -> PostgreSQL type, in row order; binary with the
    types given is about four times faster than text COPY); executemany on SQLite (datetimes adapted as
    Django stores them). JSON columns are given as text."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # The driver's own copy(): wrap its errors into Django's (IntegrityError ...) as execute() does.
            sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
            with connection.wrap_database_errors, cur.cursor.copy(sql) as copy:
                copy.set_types(list(columns.values()))
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
                      for v in row) for row in rows]
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)


def _copy_data(cursor, columns: dict[str, str], rows: list[tuple]) -> bytes:
    """``rows`` as binary COPY data, formatted by the driver without sending anything
    (``psycopg.copy.FileWriter``): the pipeline's second thread formats, the main thread only sends.
    ``cursor``: a psycopg cursor of the connection (for its adapters), never executed."""
    out = io.BytesIO()
    with Copy(cursor, binary=True, writer=FileWriter(out)) as copy:
        copy.set_types(list(columns.values()))
        for row in rows:
            copy.write_row(row)
    return out.getvalue()


def _send_copy_data(table: str, columns: dict[str, str], data: bytes) -> None:
    """Write binary COPY data made by ``_copy_data`` (PostgreSQL)."""
    with connection.cursor() as cur, connection.wrap_database_errors, cur.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(data)


def _group_charges(recs: list) -> list[tuple]:
    """(customer id, total, its records) for every customer whose records of the chunk cost something,
    in ascending customer order (the order the funds rows are locked in)."""
    per_customer: dict[int, list] = {}
    for rec in recs:
        if rec.cost:
            mine = per_customer.get(rec.customer_id)
            if mine is None:
                per_customer[rec.customer_id] = [rec]
            else:
                mine.append(rec)
    return [(c, sum(r.cost for r in per_customer[c]), per_customer[c]) for c in sorted(per_customer)]


def _keys_of(recs: Iterable) -> tuple:
    """(phone numbers, logins, services, first start, last start) of the records parsed without a problem."""
    phones, logins, services = set(), set(), set()
    first = last = None
    for rec in recs:
        if not rec.code:
            f = rec.f
            service = f["service_type"]
            services.add(service)
            if service == _DATA:
                logins.add(f["login"])
            else:
                phones.add(f["caller"])
            started = f["started_at"]
            if first is None or started < first:
                first = started
            if last is None or started > last:
                last = started
    return phones, logins, services, first, last


def _assign_entries(charges: list[tuple], entry_ids: list[int]) -> None:
    """Each record points at its customer's entry (``entry_ids``: one per charge, in order; more is fine)."""
    if len(entry_ids) < len(charges):
        raise RuntimeError("fewer ledger entry ids reserved than charges")
    for (_, _, mine), entry_id in zip(charges, entry_ids, strict=False):
        for r in mine:
            r.entry_id = entry_id


class _Chunk:
    def __init__(self, actor: Actor, source: str, default_service: str | None, records: list, collect: bool,
                 local=None, memo: _Memo | None = None):
        self.actor, self.source, self.default_service, self.records, self.collect = (
            actor, source, default_service, records, collect)
        self.pg = connection.vendor == "postgresql"
        self.json = Jsonb if self.pg else json.dumps  # a JSON column's value, for COPY or for executemany
        # The same from JSON text already encoded (dumped once, not again per row by the driver).
        self.json_text = _jsonb_text if self.pg else str
        self.result = BulkResult(results=[] if collect else None)
        self.now = clock.now()
        # The time zone activated is per thread: the pipeline passes the main thread's.
        self.local = local if local is not None else timezone.get_current_timezone()
        self.memo = memo
        self.detail: dict[str, float] = {}  # seconds of the database steps inside parse, rate and write

    # -- the steps ------------------------------------------------------------------------------

    def run(self) -> BulkResult:
        t0 = time.perf_counter()
        order, recs = self._parse()
        t1 = time.perf_counter()
        self._resolve(recs)
        t = time.perf_counter()
        usage = self._lock_usage(recs)
        self.detail["lock allowances"] = time.perf_counter() - t
        self._price(recs, usage)
        t2 = time.perf_counter()
        self._write(recs, usage)
        t3 = time.perf_counter()
        r = self.result
        r.seconds = {"parse": t1 - t0, "rate": t2 - t1, "write": t3 - t2}
        r.detail = self.detail
        for rec in recs:
            r.counts["rated" if rec.cost is not None else "error"] += 1
        if self.collect:
            r.results = [self._answer(item) for item in order]
        self.recs = recs
        return r

    # -- the same steps, pipelined (PostgreSQL, see _Pipeline) ------------------------------------
    # prepare (second thread) -> fetch (main thread: the reads) -> rate (second thread, while the main
    # thread writes the previous chunk) -> write (main thread: one transaction).

    def prepare(self) -> None:
        """Copies in the chunk and rejected records out, every other record's fields parsed (also those
        that will turn out stored already: parsing is pure, and this runs beside the database)."""
        t0 = time.perf_counter()
        self.order, self.seen = self._dedup()
        for rec in self.seen.values():
            self._parse_rec(rec)
        # What the reads need from the records, computed here: Python loops over the chunk in the main
        # thread share the GIL with this thread and took ten times as long there.
        self.keys = _keys_of(self.seen.values())
        self.result.seconds["parse"] = time.perf_counter() - t0

    def fetch(self, known: dict[str, int], check_stored: bool) -> None:
        """Every read the rating needs, without locks: stored duplicates (when ``check_stored``; the
        unique index is the guard either way), accounts, subscriptions, tables, allowances, the
        allowance usage rows of those subscriptions around the chunk's days; and ids reserved for
        the xDRs and the entries."""
        d = self.detail
        t = time.perf_counter()
        self.stored = self._stored([ext for ext in self.seen if ext not in known]) if check_stored else {}
        d["duplicates query"] = time.perf_counter() - t
        # Read for every record of the chunk (``prepare``'s keys): a duplicate among them only costs
        # a row read and an id reserved for nothing.
        self.lookups = self._lookups((), self.keys)
        t = time.perf_counter()
        assignment_ids = [a[0] for rows in self.lookups[2].values() for a in rows]
        self.usage_read: dict[tuple, tuple] = {}
        if assignment_ids and self.keys[3] is not None:
            first, last = self.keys[3].astimezone(self.local).date(), self.keys[4].astimezone(self.local).date()
            with connection.cursor() as cur:
                cur.execute("SELECT assignment_id, allowance_id, period_index, id, granted, used"
                            " FROM rating_allowanceusage WHERE assignment_id = ANY(%s) AND period_start <= %s"
                            " AND period_end > %s", [assignment_ids, last, first])
                self.usage_read = {r[:3]: r[3:] for r in cur.fetchall()}
        d["read allowances"] = time.perf_counter() - t
        t = time.perf_counter()
        customers = {row[4] for row in (*self.lookups[0].values(), *self.lookups[1].values())}
        self.xdr_ids = _reserve_ids("rating_xdr", len(self.seen))
        self.entry_ids = _reserve_ids("ledger_ledgerentry", len(customers))
        self.event_ids = _reserve_ids("audit_auditevent", len(customers))
        d["reserve ids"] = time.perf_counter() - t

    def rate(self, known: dict[str, int], carried: dict[tuple, list]) -> None:
        """Rate the chunk in memory, as if the chunks before it (``known``: ids stored by this import,
        ``carried``: its allowance usage rows) were committed: the write checks that assumption."""
        t0 = time.perf_counter()
        counts = self.result.counts
        recs = []
        for ext, rec in self.seen.items():
            stored = known.get(ext)
            if stored is None:
                stored = self.stored.get(ext)
            if stored is not None:
                counts["duplicate"] += 1
                rec.xdr_id, rec.code = stored, "duplicate"
                known[ext] = stored
            else:
                recs.append(rec)
        self._resolve_with(recs, self.lookups)
        usage: dict[tuple, list] = {}
        for key in sorted({k[0] for rec in recs if rec.keys for k in rec.keys}):
            row = carried.get(key)
            if row is not None:  # as an earlier chunk of this import leaves it
                usage[key] = [row[0], row[1], row[2], row[3], row[4], row[2], False]
            elif (read := self.usage_read.get(key)) is not None:
                usage[key] = [read[0], read[1], read[2], None, None, read[2], False]
        self._price(recs, usage)
        for key, row in usage.items():
            carried[key] = row[:5]
        if len(self.xdr_ids) < len(recs):
            raise RuntimeError("fewer xDR ids reserved than records")
        for rec, xdr_id in zip(recs, self.xdr_ids, strict=False):
            rec.xdr_id = known[rec.ext] = xdr_id
        self.known_added = [rec.ext for rec in recs]
        self.charges = _group_charges(recs)
        _assign_entries(self.charges, self.entry_ids)
        self.charge_rows = self._charge_rows(self.charges)
        self.xdr_data = _copy_data(self.copy_cursor, _COPY_XDR_COLUMNS, self._xdr_rows(recs, raw_as_bytes=True))
        self.usage, self.recs = usage, recs
        self.result.seconds["rate"] = time.perf_counter() - t0

    def write(self) -> None:
        """The chunk's transaction: the xDR rows first (no lock needed: the unique index guards them),
        then the allowance usage rows it drew from locked (id order) and found as the rating assumed
        (else _Conflict) and written, then the funds rows and the entries: the locks other writers may
        wait for are taken last and held the shortest time."""
        d, t0 = self.detail, time.perf_counter()
        if self.recs:
            _send_copy_data("rating_xdr", XDR_COLUMNS, self.xdr_data)
        self.xdr_data = None
        t1 = time.perf_counter()
        usage = self.usage
        if usage:
            keys = sorted(usage)
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT u.assignment_id, u.allowance_id, u.period_index, u.id, u.granted, u.used"
                    " FROM rating_allowanceusage u JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS"
                    " k(a, al, n) ON u.assignment_id = k.a AND u.allowance_id = k.al AND u.period_index = k.n"
                    " ORDER BY u.id FOR UPDATE OF u",
                    [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]])
                found = {r[:3]: r[3:] for r in cur.fetchall()}
            for key, row in usage.items():
                now = found.get(key)
                if row[6]:  # created by this chunk: nobody may have created it meanwhile
                    if now is not None:
                        raise _Conflict(f"allowance usage {key} created meanwhile")
                elif now is None or (now[1], now[2]) != (row[1], row[5]):
                    raise _Conflict(f"allowance usage {key} changed meanwhile")
                else:
                    row[0] = now[0]
        t2 = time.perf_counter()
        self._write_usage(usage)
        t3 = time.perf_counter()
        if self.charges:
            balances = self._debit([c[0] for c in self.charges], [c[1] for c in self.charges])
            d["funds"] = time.perf_counter() - t3
            self._write_charges(self.charge_rows, balances, self.event_ids)
        d["xdr rows"], d["lock allowances"], d["allowance rows"], d["money"] = (
            t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)
        r = self.result
        r.seconds["write"] = time.perf_counter() - t0
        r.detail = d
        for rec in self.recs:
            r.counts["rated" if rec.cost is not None else "error"] += 1
        if self.collect:
            r.results = [self._answer(item) for item in self.order]

    def _parse(self) -> tuple[list, list[_Rec]]:
        """Every record once: rejected (no usable id), duplicate (in the chunk, or stored before), or a
        _Rec with its fields parsed (and its problem, if any)."""
        order, seen = self._dedup()
        t = time.perf_counter()
        stored = self._stored(list(seen))
        self.detail["duplicates query"] = time.perf_counter() - t
        recs = []
        counts = self.result.counts
        for ext, rec in seen.items():
            if ext in stored:
                counts["duplicate"] += 1
                rec.xdr_id, rec.code = stored[ext], "duplicate"
                continue
            self._parse_rec(rec)
            recs.append(rec)
        return order, recs

    def _dedup(self) -> tuple[list, dict[str, _Rec]]:
        """Rejected records (no usable id) and copies inside the chunk; the first of each id, in order."""
        order: list = []  # per record: an IngestResult, a _Rec, or ("copy", _Rec) for a copy in the chunk
        seen: dict[str, _Rec] = {}
        counts = self.result.counts
        for raw in self.records:
            if not isinstance(raw, dict):
                counts["rejected"] += 1
                order.append(IngestResult("", "rejected", error_code="invalid_record",
                                          error_reason="a record must be an object"))
                continue
            ext = raw.get("id")
            ext = ext.strip() if type(ext) is str else external_id(raw)  # the same value, the usual case first
            if not ext or len(ext) > 100:
                counts["rejected"] += 1
                order.append(IngestResult((ext or "")[:100], "rejected", error_code="invalid_field",
                                          error_reason="id: a non-empty external id of at most 100 characters is "
                                                       "required"))
                continue
            first = seen.get(ext)
            if first is not None:
                counts["duplicate"] += 1
                order.append(("copy", first))
                continue
            rec = seen[ext] = _Rec(ext, raw)
            order.append(rec)
        return order, seen

    def _parse_rec(self, rec: _Rec) -> None:
        raw = rec.raw
        if self.default_service and not raw.get("service_type"):
            raw = rec.raw = {**raw, "service_type": self.default_service}
        rec.f, problem = _parse(raw)
        if problem is not None:
            rec.code, rec.reason = problem.code, problem.reason

    def _stored(self, exts: list[str]) -> dict[str, int]:
        """External id -> xDR id of the chunk's records already stored from this source."""
        return dict(_select_in("SELECT external_id, id FROM rating_xdr WHERE source = %s AND external_id {in}",
                               [self.source], exts))

    def _resolve(self, recs: list[_Rec]) -> None:
        """Account, subscription, rate table, rate, terms and billed quantity of every parsed record,
        and the allowance usage rows each would draw from; or its error, as the per-record path says."""
        self._resolve_with(recs, self._lookups(recs))

    def _lookups(self, recs: Iterable[_Rec], keys: tuple | None = None) -> tuple:
        """The chunk's accounts (by phone number and login), their subscriptions, the rate tables and
        the plans' allowances: every row ``_resolve_with`` needs, read in a few queries. ``keys``:
        ``_keys_of(recs)`` if already known."""
        phones, logins, services, _, _ = keys if keys is not None else _keys_of(recs)
        t = time.perf_counter()
        by_phone, by_login = {}, {}
        accounts_sql = ("SELECT a.id, a.phone_number, a.login, a.status, a.customer_id, c.status, c.currency"
                        " FROM customers_account a JOIN customers_customer c ON c.id = a.customer_id WHERE a.{column} {in}")
        for row in _select_in(accounts_sql.replace("{column}", "phone_number"), [], sorted(phones)):
            by_phone[row[1]] = row
        for row in _select_in(accounts_sql.replace("{column}", "login"), [], sorted(logins)):
            by_login[row[2]] = row
        accounts = sorted({row[0] for row in (*by_phone.values(), *by_login.values())})
        assignments: dict[int, list[tuple]] = {}
        for row in _select_in("SELECT ap.id, ap.account_id, ap.product_id, ap.plan_id, ap.role, ap.start_date,"
                              " ap.end_date, p.period FROM customers_accountproduct ap"
                              " JOIN catalog_subscriptionplan p ON p.id = ap.plan_id WHERE ap.account_id {in}",
                              [], accounts):
            row = (*row[:5], _date(row[5]), _date(row[6]), row[7])
            assignments.setdefault(row[1], []).append(row)
        for rows in assignments.values():
            rows.sort(key=lambda a: (a[4] != "main", a[0]))
        signature: list = []
        tables = _tables(services, signature)
        allowances = _allowances({a[3] for rows in assignments.values() for a in rows})
        memo = self.memo
        if memo is not None:
            # The pipeline keeps the rating contexts from chunk to chunk while what they were built from
            # is unchanged: the same tables and allowances (then the same objects are reused), and per
            # account the same subscription rows. The second thread does not touch them meanwhile.
            if memo.signature != signature or memo.allowances != allowances:
                memo.signature, memo.tables, memo.allowances = signature, tables, allowances
                memo.contexts.clear()
                memo.assignments.clear()
            tables, allowances = memo.tables, memo.allowances
            for acc in {row[0] for row in (*by_phone.values(), *by_login.values())}:
                rows = assignments.get(acc, [])
                if memo.assignments.get(acc) != rows:
                    memo.assignments[acc] = rows
                    for service in pricing.SERVICE_TYPES:
                        memo.contexts.pop((acc, service), None)
        self.detail["lookups"] = time.perf_counter() - t
        return by_phone, by_login, assignments, tables, allowances

    def _resolve_with(self, recs: list[_Rec], lookups: tuple) -> None:
        """``_resolve`` in Python only, from the rows ``_lookups`` read (no query: the pipeline runs it
        in a second thread while the database writes the previous chunk)."""
        by_phone, by_login, assignments, tables, allowances = lookups
        local = self.local
        # (account, service) -> (first day, day after the last, context) it holds for
        contexts: dict = self.memo.contexts if self.memo is not None else {}
        period_cache: dict = self.memo.periods if self.memo is not None else {}
        for rec in recs:
            if rec.code:
                continue
            f = rec.f
            service = f["service_type"]
            if service == pricing.DATA:
                acc = by_login.get(f["login"])
                if acc is None:
                    rec.code, rec.reason = "unknown_account", f"no account with login {f['login']!r}"
                    continue
            else:
                acc = by_phone.get(f["caller"])
                if acc is None:
                    rec.code, rec.reason = "unknown_account", f"no account with phone number {f['caller']}"
                    continue
            rec.account_id = acc[0]
            if _BLOCKED in (acc[3], acc[5]):
                rec.code, rec.reason = "account_blocked", "the account or its customer is blocked: usage is refused"
                continue
            if _CLOSED in (acc[3], acc[5]):
                rec.code, rec.reason = "account_closed", "the account or its customer is closed"
                continue
            started = f["started_at"]
            at_local = started.astimezone(local)
            day = at_local.date()
            key = (acc[0], service)
            held = contexts.get(key)
            if held is None or not held[0] <= day < held[1]:
                held = contexts[key] = self._context(assignments.get(acc[0], ()), day, service, tables,
                                                     allowances, period_cache)
            current, table, keys = held[2]
            if not current:
                rec.code, rec.reason = "no_subscription", f"the account has no subscription on {day.isoformat()}"
                continue
            if table is None:
                rec.code, rec.reason = "no_rate", f"no {service} rate table for the account's products"
                continue
            if table.currency != acc[6]:
                rec.code, rec.reason = ("currency_mismatch",
                                        f"rate table in {table.currency}, customer billed in {acc[6]}")
                continue
            # The record parsed without a problem: its service's fields are all there (pricing.base_quantity).
            if service == _VOICE:
                number, quantity = f["callee"], f["duration_seconds"]
            elif service == _DATA:
                number, quantity = "", -(-f["bytes"] // pricing.BYTES_PER_KB)
            else:
                number, quantity = f["destination"], f["count"]
            rate = None
            for length in table.lengths:
                if length <= len(number):
                    rate = table.rates.get(number[:length])
                    if rate is not None:
                        break
            if rate is None:
                rec.code, rec.reason = "no_rate", f"no rate in {table.name!r} for destination {number or '(none)'}"
                continue
            rate_id, terms, offpeak_terms = rate
            offpeak = False
            if offpeak_terms is not None and not pricing.is_peak(
                    at_local if table.zone is local else started.astimezone(table.zone), table.window):
                terms, offpeak = offpeak_terms, True
            billed = pricing.billable(quantity, terms.first_increment, terms.next_increment)
            rec.customer_id, rec.currency, rec.rate_id, rec.terms = acc[4], table.currency, rate_id, terms
            rec.unit, rec.billed, rec.offpeak = pricing.PRICED_UNIT[service], billed, offpeak
            if billed:
                rec.keys = keys

    @staticmethod
    def _context(assignments, day, service, tables, allowances, period_cache) -> tuple:
        """For an account, a usage day and a service: the subscriptions current that day (main first),
        the rate table that rates it, and the allowance usage rows it draws from, in order; with the
        days it holds for: (first, day after the last, context). It changes only where a subscription
        starts or ends or an allowance period turns, so most records of an account reuse it."""
        current = [a for a in assignments if a[5] <= day and (a[6] is None or a[6] > day)]
        lo, hi = date.min, date.max
        for a in assignments:
            for edge in (a[5], a[6]):
                if edge is not None:
                    if edge <= day:
                        lo = max(lo, edge)
                    else:
                        hi = min(hi, edge)
        table = next((tables[(a[2], service)] for a in current if (a[2], service) in tables), None)
        keys = []
        for a in current:
            allowance = allowances.get((a[3], service))
            if allowance is None:
                continue
            pkey = (a[5], a[7], day)
            bounds = period_cache.get(pkey)
            if bounds is None:
                n = periods.index(a[5], a[7], day)
                bounds = period_cache[pkey] = (n, *periods.bounds(a[5], a[7], n))
            keys.append(((a[0], allowance[0], bounds[0]), bounds[1], bounds[2], allowance[1]))
            lo, hi = max(lo, bounds[1]), min(hi, bounds[2])
        return lo, hi, (current, table, tuple(keys))

    def _lock_usage(self, recs: list[_Rec]) -> dict[tuple, list]:
        """(assignment, allowance, period) -> [id, granted, used] of the usage rows that exist, locked
        (PostgreSQL) in id order so that two importers take them in the same order."""
        keys = sorted({k[0] for rec in recs if rec.keys for k in rec.keys})
        usage: dict[tuple, list] = {}
        if not keys:
            return usage
        if self.pg:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT u.id, u.assignment_id, u.allowance_id, u.period_index, u.granted, u.used"
                    " FROM rating_allowanceusage u JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS"
                    " k(a, al, n) ON u.assignment_id = k.a AND u.allowance_id = k.al AND u.period_index = k.n"
                    " ORDER BY u.id FOR UPDATE OF u",
                    [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]])
                rows = cur.fetchall()
        else:  # SQLite: the chunk's transaction holds the database's write lock (BEGIN IMMEDIATE)
            wanted = set(keys)
            rows = []
            for batch in _batches(sorted({k[0] for k in keys})):
                rows += [r for r in AllowanceUsage.objects.filter(assignment_id__in=batch).values_list(
                    "id", "assignment_id", "allowance_id", "period_index", "granted", "used") if r[1:4] in wanted]
        for r in rows:
            usage[r[1:4]] = [r[0], r[4], r[5], None, None, r[5], False]
        return usage

    def _price(self, recs: list[_Rec], usage: dict[tuple, list]) -> None:
        """Free units in record order (the allowances of the record's subscriptions, main first), then
        the cost, rounded once. A usage row a record visits that does not exist yet is created (in
        memory: id None) exactly when the per-record path would create it."""
        rounding = rounding_mode(None)
        exponents: dict[str, int] = {}
        for rec in recs:
            if rec.code:
                continue
            need, taken = rec.billed, 0
            for key, first, end, granted in rec.keys:
                if taken >= need:
                    break
                row = usage.get(key)
                if row is None:
                    row = usage[key] = [None, granted, 0, first, end, 0, True]  # True: created by this chunk
                n = min(need - taken, row[1] - row[2])
                if n > 0:
                    row[2] += n
                    taken += n
            rec.free = taken
            if need == 0:
                rec.cost = 0
                continue
            exponent = exponents.get(rec.currency)
            if exponent is None:
                exponent = exponents[rec.currency] = currency_exponent(rec.currency)
            rec.cost = pricing.cost_minor(need - taken, rec.terms, rec.unit, exponent, rounding)

    def _write(self, recs: list[_Rec], usage: dict[tuple, list]) -> None:
        d, t0 = self.detail, time.perf_counter()
        for rec, xdr_id in zip(recs, _reserve_ids("rating_xdr", len(recs)), strict=True):
            rec.xdr_id = xdr_id
        t1 = time.perf_counter()
        self._post_charges(recs)
        t2 = time.perf_counter()
        self._insert_xdrs(recs)
        t3 = time.perf_counter()
        self._write_usage(usage)
        d["reserve ids"], d["money"], d["xdr rows"], d["allowance rows"] = (
            t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)

    # -- money ----------------------------------------------------------------------------------

    def _post_charges(self, recs: list[_Rec]) -> None:
        """One charge per customer for its records of this chunk that cost something, and its audit
        event (as ``ledger.services.post_entry`` writes them)."""
        charges = _group_charges(recs)
        if not charges:
            return
        balances = self._debit([c[0] for c in charges], [c[1] for c in charges])
        _assign_entries(charges, _reserve_ids("ledger_ledgerentry", len(charges)))
        self._write_charges(self._charge_rows(charges), balances, _reserve_ids("audit_auditevent", len(charges)))

    def _charge_rows(self, charges: list[tuple]) -> list[tuple]:
        """Per charge (entry ids assigned): (customer id, the entry row before and after its balance,
        what the audit event says): all of the rows but the balances, which only the funds UPDATE
        knows (the pipeline builds these in its second thread)."""
        actor = (str(self.actor.kind), self.actor.ref, self.actor.name)
        out = []
        source = json.dumps(self.source)
        charge, now = EntryKind.CHARGE.value, self.now
        for customer_id, total, mine in charges:
            entry_id = mine[0].entry_id
            services: dict[str, list] = {}  # service -> [count, cost]
            accounts = set()
            for r in mine:
                s = services.get(r.f["service_type"])
                if s is None:
                    s = services[r.f["service_type"]] = [0, 0]
                s[0] += 1
                s[1] += r.cost
                accounts.add(r.account_id)
            first, last, currency = mine[0].xdr_id, mine[-1].xdr_id, mine[0].currency
            ordered = sorted(services.items())
            head = (entry_id, *actor, customer_id, next(iter(accounts)) if len(accounts) == 1 else None, charge,
                    -total, currency)
            # The entry's data as json.dumps would write it (service names are fixed words), built directly.
            data = (f'{{"source": {source}, "xdrs": {len(mine)}, "first_xdr": {first}, "last_xdr": {last}, '
                    '"services": {' + ", ".join(f'"{k}": {{"count": {c}, "cost_minor": {m}}}' for k, (c, m) in ordered)
                    + "}}")
            tail = ("Usage: " + ", ".join(f"{c} {_NAMES[k]}" for k, (c, _) in ordered), "", USAGE_SOURCE, "",
                    ordered[0][0] if len(ordered) == 1 else "", f"xdrs:{first}:{customer_id}",
                    # What this charge is (a retry of the same chunk would find its xDRs duplicate instead).
                    sha256(f"usage|{customer_id}|{-total}|{currency}|{first}|{last}|{len(mine)}".encode()).hexdigest(),
                    now, self.json_text(data))
            out.append((customer_id, head, tail, (entry_id, -total, json.dumps(currency), len(mine))))
        return out

    def _write_charges(self, rows: list[tuple], balances: dict[int, int], event_ids: list[int]) -> None:
        """The entries (``_charge_rows``) with their balances after, and their audit events."""
        actor = (str(self.actor.kind), self.actor.ref, self.actor.name)
        now, text = self.now, self.json_text
        entries = [(*head, balances[c], *tail) for c, head, tail, _ in rows]
        events = [(event_id, *actor, now, "ledger.charge", "ledgerentry", str(entry_id), text(
            f'{{"customer": {c}, "amount_minor": {amount}, "currency": {currency}, "balance_after_minor": {balances[c]},'
            f' "xdrs": {n}}}')) for (c, _, _, (entry_id, amount, currency, n)), event_id in zip(rows, event_ids,
                                                                                             strict=False)]
        if len(event_ids) < len(rows):
            raise RuntimeError("fewer audit event ids reserved than charges")
        t = time.perf_counter()
        _insert_rows("ledger_ledgerentry", ENTRY_COLUMNS, entries)
        t1 = time.perf_counter()
        _insert_rows("audit_auditevent", EVENT_COLUMNS, events)
        self.detail["entry rows"], self.detail["event rows"] = t1 - t, time.perf_counter() - t1
        self.result.entries = len(entries)

    def _debit(self, customers: list[int], totals: list[int]) -> dict[int, int]:
        """Lower the balances (unconditionally: usage that happened is billed, as in the per-record
        path) except of closed customers; returns customer -> balance after. The funds rows are locked
        in ascending customer order first."""
        not_closed = ("NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = ledger_funds.customer_id"
                      " AND c.status = 'closed')")
        with connection.cursor() as cur:
            if self.pg:
                cur.execute("SELECT customer_id FROM ledger_funds WHERE customer_id = ANY(%s)"
                            " ORDER BY customer_id FOR UPDATE", [customers])
                cur.execute("UPDATE ledger_funds SET balance_minor = balance_minor - v.amount"
                            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(customer, amount)"
                            f" WHERE ledger_funds.customer_id = v.customer AND {not_closed}"
                            " RETURNING ledger_funds.customer_id, ledger_funds.balance_minor", [customers, totals])
                balances = dict(cur.fetchall())
            else:
                cur.executemany(f"UPDATE ledger_funds SET balance_minor = balance_minor - %s WHERE customer_id = %s"
                                f" AND {not_closed}", list(zip(totals, customers, strict=True)))
                if cur.rowcount != len(customers):  # sqlite3 sums executemany's row counts
                    raise _Retry("a customer was closed while the chunk was rated")
                balances = {}
                for batch in _batches(customers):
                    balances.update(Funds.objects.filter(customer_id__in=batch).values_list("customer_id",
                                                                                            "balance_minor"))
        if len(balances) != len(customers):
            raise _Retry("a customer was closed while the chunk was rated")
        return balances

    # -- rows -----------------------------------------------------------------------------------

    def _insert_xdrs(self, recs: list[_Rec]) -> None:
        _insert_rows("rating_xdr", XDR_COLUMNS, self._xdr_rows(recs))

    def _xdr_rows(self, recs: list[_Rec], raw_as_bytes: bool = False) -> list[tuple]:
        """The rows as written; ``raw_as_bytes``: the raw column as binary jsonb already encoded (for
        ``_COPY_XDR_COLUMNS``)."""
        source, now = self.source, self.now
        rated, error = XdrStatus.RATED.value, XdrStatus.ERROR.value
        empty = _JSONB_EMPTY if raw_as_bytes else self.json_text("{}")
        as_json = _jsonb_bytes if raw_as_bytes else self.json
        rows = []
        for rec in recs:
            f = rec.f
            if rec.cost is not None:
                rows.append((rec.xdr_id, source, rec.ext, f["service_type"], rec.account_id, f.get("caller", ""),
                             f.get("callee", ""), f.get("login", ""), f.get("bytes"), f.get("count"),
                             f.get("destination", ""), f["started_at"], f.get("duration_seconds"), empty, rated, "", "",
                             rec.rate_id, rec.billed, rec.free, rec.offpeak, rec.cost, rec.currency, rec.entry_id,
                             now, now))
            else:  # kept with the record as received, to be re-rated after a fix
                rows.append((rec.xdr_id, source, rec.ext, f.get("service_type", ""), rec.account_id,
                             f.get("caller", ""), f.get("callee", ""), f.get("login", ""), f.get("bytes"),
                             f.get("count"), f.get("destination", ""), f.get("started_at"), f.get("duration_seconds"),
                             as_json(_jsonable(rec.raw)), error, rec.code, rec.reason[:300], None, 0, 0, False,
                             None, "", None, now, None))
        return rows

    def _write_usage(self, usage: dict[tuple, list]) -> None:
        """Rows are [id, granted, used, period start, period end, used before, created by this chunk]."""
        changed = [(row[2], row[0]) for row in usage.values() if not row[6] and row[2] != row[5]]
        new = [(k, row) for k, row in sorted(usage.items()) if row[6]]
        with connection.cursor() as cur:
            if changed and self.pg:
                cur.execute("UPDATE rating_allowanceusage SET used = v.used FROM unnest(%s::bigint[], %s::bigint[])"
                            " AS v(id, used) WHERE rating_allowanceusage.id = v.id",
                            [[c[1] for c in changed], [c[0] for c in changed]])
            elif changed:
                cur.executemany("UPDATE rating_allowanceusage SET used = %s WHERE id = %s", changed)
        # A row created concurrently meanwhile: IntegrityError on the unique key, the chunk runs again.
        ids = _reserve_ids("rating_allowanceusage", len(new))
        _insert_rows("rating_allowanceusage", USAGE_COLUMNS, [
            (pk, k[0], k[1], k[2], row[3], row[4], row[1], row[2]) for pk, (k, row) in zip(ids, new, strict=True)])

    # -- answers --------------------------------------------------------------------------------

    def _answer(self, item) -> IngestResult:
        if isinstance(item, IngestResult):
            return item
        copy = isinstance(item, tuple)
        rec = item[1] if copy else item
        if copy or rec.code == "duplicate":
            return IngestResult(rec.ext, "duplicate", rec.xdr_id, error_code="duplicate",
                                error_reason="already received from this source")
        if rec.cost is None:
            return IngestResult(rec.ext, "error", rec.xdr_id, error_code=rec.code, error_reason=rec.reason[:300])
        return IngestResult(rec.ext, "rated", rec.xdr_id, rec.cost, rec.currency)


@dataclass
class _Table:
    currency: str
    name: str
    rates: dict = field(default_factory=dict)  # prefix -> (rate id, RateTerms, off-peak RateTerms or None)
    lengths: tuple = ()  # prefix lengths present, longest first
    window: pricing.PeakWindow | None = None
    zone: object = None


def _tables(services: set[str], signature: list | None = None) -> dict[tuple[int, str], _Table]:
    """(product, service) -> its rate table with every rate, for the services of the chunk. Every
    value read is appended to ``signature`` (to tell whether the tables changed since the last chunk)."""
    tables: dict[int, tuple] = {}
    sig = signature if signature is not None else []
    for table in RateTable.objects.filter(service_type__in=services).order_by("id"):
        window, zone = peak_window(table)
        sig.append((table.pk, table.product_id, table.service_type, table.currency, table.name, table.time_zone,
                    table.peak_start, table.peak_end, table.peak_weekdays))
        tables[table.pk] = ((table.product_id, table.service_type),
                            _Table(table.currency, table.name, window=window, zone=zone))
    for row in Rate.objects.filter(table_id__in=list(tables)).order_by("id").values_list(
            "table_id", "id", "prefix", "price_per_unit_micros", "connection_fee_micros", "first_increment",
            "next_increment", "offpeak_price_per_unit_micros", "offpeak_connection_fee_micros").iterator():
        sig.append(row)
        terms = pricing.RateTerms(*row[3:7])
        offpeak, is_offpeak = pricing.terms_at(terms, row[7], row[8], False)
        # (rate id, peak terms, off-peak terms or None when the rate costs the same at any time)
        tables[row[0]][1].rates[row[2]] = (row[1], terms, offpeak if is_offpeak else None)
    out = {}
    for key, table in tables.values():
        table.lengths = tuple(sorted({len(p) for p in table.rates}, reverse=True))
        out[key] = table
    return out


def _allowances(plans: set[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """(plan, service) -> (allowance id, granted base units) of the allowances rating counts."""
    out = {}
    for batch in _batches(sorted(plans)):
        for pk, plan, service, unit, quantity in (PlanAllowance.objects.filter(plan_id__in=batch)
                                                  .order_by("id").values_list("id", "plan_id", "service_type",
                                                                              "unit", "quantity")):
            if pricing.ALLOWANCE_UNIT_OF.get(service) == unit and (plan, service) not in out:
                out[(plan, service)] = (pk, quantity * pricing.ALLOWANCE_UNIT[unit])
    return out


_NAMES = {pricing.VOICE: "call(s)", pricing.DATA: "data session(s)", pricing.MESSAGING: "message record(s)"}


