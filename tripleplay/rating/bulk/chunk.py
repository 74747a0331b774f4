"""One chunk of records, one transaction: ``Chunk`` (its steps, serial and pipelined; the xDR rows;
the answers) and ``run_chunk``, which runs it the serial way and again on a concurrent writer's
conflict. What the steps call lives beside: ``lookups`` (reads, rating context), ``usage`` (allowance
usage rows, prices), ``money`` (ledger charges), ``sql`` (rows and COPY)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import NamedTuple

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.bulk import copy_data, insert_rows, jsonb_text, reserve_ids, select_in, send_copy_data
from tripleplay.ledger import bulk as ledger
from tripleplay.rating.bulk.lookups import Lookups, RatingMemo, UsageKey, keys_of
from tripleplay.rating.bulk.money import ChunkMoney, Retry, assign_entries, group_charges
from tripleplay.rating.bulk.result import BulkRecord, BulkResult
from tripleplay.rating.bulk.sql import COPY_XDR_COLUMNS, JSONB_EMPTY, XDR_COLUMNS, jsonb_bytes
from tripleplay.rating.bulk.usage import StoredUsage, Usage, UsageRow, lock_usage_rows
from tripleplay.rating.models import XdrStatus
from tripleplay.rating.services import IngestResult, external_id, jsonable, parse_record

# A chunk rolled back by a concurrent writer runs again (then its records are duplicates); each failure
# means another importer committed some of the same records, so N importers fail a chunk at most N-1 times.
ATTEMPTS = 5


class ChunkCopy(NamedTuple):
    """A record whose external id came before in the same chunk: answered as a duplicate of ``first``."""

    first: BulkRecord


class AllowanceConflict(Exception):
    """A pipelined chunk's assumption failed (an allowance row changed by another writer): it runs again
    the serial way."""


def run_chunk(actor: Actor, source: str, service_type: str | None, chunk: list, collect: bool) -> Chunk:
    """One chunk, one transaction (run again on a concurrent writer's conflict, up to ATTEMPTS times)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            done = Chunk(actor, source, service_type, chunk, collect)
            with transaction.atomic():
                done.run()
                t1 = time.perf_counter()
            done.result.seconds["commit"] = time.perf_counter() - t1
            return done
        except (Retry, IntegrityError, OperationalError):
            # A concurrent writer: the same ids (unique index), a closed customer, a deadlock.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def add_chunk(out: BulkResult, done: Chunk, collect: bool, progress: Callable[[BulkResult], None] | None) -> None:
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


class Chunk(Lookups, Usage, ChunkMoney):
    """One chunk of records, rated and written in one transaction: ``run`` the serial way, or ``prepare``,
    ``fetch``, ``rate`` and ``write`` in the pipeline. Its bases are its parts in the modules beside."""

    def __init__(self, actor: Actor, source: str, default_service: str | None, records: list, collect: bool,
                 local=None, memo: RatingMemo | None = None):
        self.actor, self.source, self.default_service, self.records, self.collect = (
            actor, source, default_service, records, collect)
        self.pg = connection.vendor == "postgresql"
        self.json = Jsonb if self.pg else json.dumps  # a JSON column's value, for COPY or for executemany
        # The same from JSON text already encoded (dumped once, not again per row by the driver).
        self.json_text = jsonb_text if self.pg else str
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

    # -- the same steps, pipelined (PostgreSQL, see pipeline.py) ----------------------------------
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
        self.keys = keys_of(self.seen.values())
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
        assignment_ids = [a.id for rows in self.lookups.subscriptions.values() for a in rows]
        self.usage_read: dict[UsageKey, StoredUsage] = {}
        if assignment_ids and self.keys.first_start is not None:
            first = self.keys.first_start.astimezone(self.local).date()
            last = self.keys.last_start.astimezone(self.local).date()
            with connection.cursor() as cur:
                cur.execute("SELECT id, assignment_id, allowance_id, period_index, granted, used"
                            " FROM rating_allowanceusage WHERE assignment_id = ANY(%s) AND period_start <= %s"
                            " AND period_end > %s", [assignment_ids, last, first])
                self.usage_read = {r.key: r for r in map(StoredUsage._make, cur.fetchall())}
        d["read allowances"] = time.perf_counter() - t
        t = time.perf_counter()
        customers = {account.customer_id for account in self.lookups.accounts()}
        self.xdr_ids = reserve_ids("rating_xdr", len(self.seen))
        ids = ledger.reserve_charge_ids(len(customers))
        self.entry_ids, self.event_ids = ids.entries, ids.events
        d["reserve ids"] = time.perf_counter() - t

    def rate(self, known: dict[str, int], carried: dict[UsageKey, UsageRow]) -> None:
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
        usage: dict[UsageKey, UsageRow] = {}
        for key in sorted({draw.key for rec in recs if rec.keys for draw in rec.keys}):
            row = carried.get(key)
            if row is not None:  # as an earlier chunk of this import leaves it
                usage[key] = UsageRow(row.id, row.granted, row.used, row.period_start, row.period_end, row.used,
                                      False)
            elif (read := self.usage_read.get(key)) is not None:
                usage[key] = UsageRow(read.id, read.granted, read.used, None, None, read.used, False)
        self._price(recs, usage)
        for key, row in usage.items():
            # A snapshot: this chunk's write sets the id of a row it creates while the next chunk is
            # rated from these.
            carried[key] = UsageRow(row.id, row.granted, row.used, row.period_start, row.period_end, row.used_before,
                                    row.created)
        if len(self.xdr_ids) < len(recs):
            raise RuntimeError("fewer xDR ids reserved than records")
        for rec, xdr_id in zip(recs, self.xdr_ids, strict=False):
            rec.xdr_id = known[rec.ext] = xdr_id
        self.known_added = [rec.ext for rec in recs]
        self.charges = group_charges(recs)
        assign_entries(self.charges, self.entry_ids)
        self.charge_rows = self._charge_rows(self.charges)
        self.xdr_data = copy_data(self.copy_cursor, COPY_XDR_COLUMNS, self._xdr_rows(recs, raw_as_bytes=True))
        self.usage, self.recs = usage, recs
        self.result.seconds["rate"] = time.perf_counter() - t0

    def write(self) -> None:
        """The chunk's transaction: the xDR rows first (no lock needed: the unique index guards them),
        then the allowance usage rows it drew from locked (id order) and found as the rating assumed
        (else AllowanceConflict) and written, then the funds rows and the entries: the locks other writers may
        wait for are taken last and held the shortest time."""
        d, t0 = self.detail, time.perf_counter()
        if self.recs:
            send_copy_data("rating_xdr", XDR_COLUMNS, self.xdr_data)
        self.xdr_data = None
        t1 = time.perf_counter()
        usage = self.usage
        if usage:
            found = {r.key: r for r in lock_usage_rows(sorted(usage))}  # as locked now
            for key, row in usage.items():
                now = found.get(key)
                if row.created:  # by this chunk: nobody may have created it meanwhile
                    if now is not None:
                        raise AllowanceConflict(f"allowance usage {key} created meanwhile")
                elif now is None or (now.granted, now.used) != (row.granted, row.used_before):
                    raise AllowanceConflict(f"allowance usage {key} changed meanwhile")
                else:
                    row.id = now.id
        t2 = time.perf_counter()
        self._write_usage(usage)
        t3 = time.perf_counter()
        if self.charges:
            balances = self._debit(self.charges)
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

    def _parse(self) -> tuple[list, list[BulkRecord]]:
        """Every record once: rejected (no usable id), duplicate (in the chunk, or stored before), or a
        BulkRecord with its fields parsed (and its problem, if any)."""
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

    def _dedup(self) -> tuple[list, dict[str, BulkRecord]]:
        """Rejected records (no usable id) and copies inside the chunk; the first of each id, in order."""
        order: list = []  # per record: an IngestResult, a BulkRecord, or a ChunkCopy of one
        seen: dict[str, BulkRecord] = {}
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
                order.append(ChunkCopy(first))
                continue
            rec = seen[ext] = BulkRecord(ext, raw)
            order.append(rec)
        return order, seen

    def _parse_rec(self, rec: BulkRecord) -> None:
        raw = rec.raw
        if self.default_service and not raw.get("service_type"):
            raw = rec.raw = {**raw, "service_type": self.default_service}
        rec.f, problem = parse_record(raw)
        if problem is not None:
            rec.code, rec.reason = problem.code, problem.reason

    def _stored(self, exts: list[str]) -> dict[str, int]:
        """External id -> xDR id of the chunk's records already stored from this source."""
        return dict(select_in("SELECT external_id, id FROM rating_xdr WHERE source = %s AND external_id {in}",
                               [self.source], exts))

    def _resolve(self, recs: list[BulkRecord]) -> None:
        """Account, subscription, rate table, rate, terms and billed quantity of every parsed record,
        and the allowance usage rows each would draw from; or its error, as the per-record path says."""
        self._resolve_with(recs, self._lookups(recs))

    def _write(self, recs: list[BulkRecord], usage: dict[UsageKey, UsageRow]) -> None:
        d, t0 = self.detail, time.perf_counter()
        for rec, xdr_id in zip(recs, reserve_ids("rating_xdr", len(recs)), strict=True):
            rec.xdr_id = xdr_id
        t1 = time.perf_counter()
        self._post_charges(recs)
        t2 = time.perf_counter()
        self._insert_xdrs(recs)
        t3 = time.perf_counter()
        self._write_usage(usage)
        d["reserve ids"], d["money"], d["xdr rows"], d["allowance rows"] = (
            t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)

    # -- rows -----------------------------------------------------------------------------------

    def _insert_xdrs(self, recs: list[BulkRecord]) -> None:
        insert_rows("rating_xdr", XDR_COLUMNS, self._xdr_rows(recs))

    def _xdr_rows(self, recs: list[BulkRecord], raw_as_bytes: bool = False) -> list[tuple]:
        """The rows as written; ``raw_as_bytes``: the raw column as binary jsonb already encoded (for
        ``COPY_XDR_COLUMNS``)."""
        source, now = self.source, self.now
        rated, error = XdrStatus.RATED.value, XdrStatus.ERROR.value
        empty = JSONB_EMPTY if raw_as_bytes else self.json_text("{}")
        as_json = jsonb_bytes if raw_as_bytes else self.json
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
                             as_json(jsonable(rec.raw)), error, rec.code, rec.reason[:300], None, 0, 0, False,
                             None, "", None, now, None))
        return rows

    # -- answers --------------------------------------------------------------------------------

    def _answer(self, item) -> IngestResult:
        if isinstance(item, IngestResult):
            return item
        copy = isinstance(item, ChunkCopy)
        rec = item.first if copy else item
        if copy or rec.code == "duplicate":
            return IngestResult(rec.ext, "duplicate", rec.xdr_id, error_code="duplicate",
                                error_reason="already received from this source")
        if rec.cost is None:
            return IngestResult(rec.ext, "error", rec.xdr_id, error_code=rec.code, error_reason=rec.reason[:300])
        return IngestResult(rec.ext, "rated", rec.xdr_id, rec.cost, rec.currency)


_run_chunk = run_chunk  # the tests' name (test_bulk.py patches it)
_Chunk = Chunk  # the tests' name
