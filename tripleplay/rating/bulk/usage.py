"""Allowance usage rows of a chunk: locked (the serial way), consumed in memory in record order with
each record's cost priced once (pricing.usage_cost_minor, the per-record path's rule), written back in
one statement. ``Usage`` is a part of ``chunk.Chunk``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from django.db import connection

from tripleplay.core.bulk import batches, insert_rows, reserve_ids
from tripleplay.money import currency_exponent, rounding_mode
from tripleplay.rating import pricing
from tripleplay.rating.bulk.lookups import UsageKey
from tripleplay.rating.bulk.result import BulkRecord
from tripleplay.rating.bulk.sql import USAGE_COLUMNS
from tripleplay.rating.models import AllowanceUsage


class StoredUsage(NamedTuple):
    """An allowance usage row as stored."""

    id: int
    assignment_id: int
    allowance_id: int
    period_index: int
    granted: int
    used: int

    @property
    def key(self) -> UsageKey:
        return UsageKey(self.assignment_id, self.allowance_id, self.period_index)


@dataclass(slots=True)
class UsageRow:
    """An allowance usage row as a chunk draws from it: ``used`` changes record by record."""

    id: int | None  # None: created by this chunk, id not known yet
    granted: int
    used: int
    period_start: date | None  # only needed (and known) for a row this chunk creates
    period_end: date | None
    used_before: int  # as read: the write checks (pipeline) and writes only what changed
    created: bool  # by this chunk


def lock_usage_rows(keys: list[UsageKey]) -> list[StoredUsage]:
    """PostgreSQL: the usage rows of these keys that exist, locked in id order so that two importers
    take them in the same order (the serial path and the pipeline's check both lock them here)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT u.id, u.assignment_id, u.allowance_id, u.period_index, u.granted, u.used"
            " FROM rating_allowanceusage u JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS"
            " k(a, al, n) ON u.assignment_id = k.a AND u.allowance_id = k.al AND u.period_index = k.n"
            " ORDER BY u.id FOR UPDATE OF u",
            [[k.assignment_id for k in keys], [k.allowance_id for k in keys], [k.period_index for k in keys]])
        return [StoredUsage._make(row) for row in cur.fetchall()]


class Usage:
    """``Chunk``'s allowance usage rows and prices (a part of ``chunk.Chunk``: ``self`` is the chunk,
    with its ``pg``)."""

    def _lock_usage(self, recs: list[BulkRecord]) -> dict[UsageKey, UsageRow]:
        """The usage rows the records draw from that exist, locked (PostgreSQL) in id order so that two
        importers take them in the same order."""
        keys = sorted({draw.key for rec in recs if rec.keys for draw in rec.keys})
        usage: dict[UsageKey, UsageRow] = {}
        if not keys:
            return usage
        if self.pg:
            rows = lock_usage_rows(keys)
        else:  # SQLite: the chunk's transaction holds the database's write lock (BEGIN IMMEDIATE)
            wanted = set(keys)
            rows = []
            for batch in batches(sorted({k.assignment_id for k in keys})):
                rows += [r for r in map(StoredUsage._make, AllowanceUsage.objects.filter(assignment_id__in=batch)
                                        .values_list(*StoredUsage._fields)) if r.key in wanted]
        for r in rows:
            usage[r.key] = UsageRow(r.id, r.granted, r.used, None, None, r.used, False)
        return usage

    def _price(self, recs: list[BulkRecord], usage: dict[UsageKey, UsageRow]) -> None:
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
                    row = usage[key] = UsageRow(None, granted, 0, first, end, 0, True)
                n = min(need - taken, row.granted - row.used)
                if n > 0:
                    row.used += n
                    taken += n
            rec.free = taken
            exponent = exponents.get(rec.currency)
            if exponent is None:
                exponent = exponents[rec.currency] = currency_exponent(rec.currency)
            rec.cost = pricing.usage_cost_minor(need, taken, rec.terms, rec.unit, exponent, rounding)

    def _write_usage(self, usage: dict[UsageKey, UsageRow]) -> None:
        changed = [(row.used, row.id) for row in usage.values() if not row.created and row.used != row.used_before]
        new = [(k, row) for k, row in sorted(usage.items(), key=lambda item: item[0]) if row.created]
        with connection.cursor() as cur:
            if changed and self.pg:
                cur.execute("UPDATE rating_allowanceusage SET used = v.used FROM unnest(%s::bigint[], %s::bigint[])"
                            " AS v(id, used) WHERE rating_allowanceusage.id = v.id",
                            [[c[1] for c in changed], [c[0] for c in changed]])
            elif changed:
                cur.executemany("UPDATE rating_allowanceusage SET used = %s WHERE id = %s", changed)
        # A row created concurrently meanwhile: IntegrityError on the unique key, the chunk runs again.
        ids = reserve_ids("rating_allowanceusage", len(new))
        insert_rows("rating_allowanceusage", USAGE_COLUMNS, [
            (pk, *k, row.period_start, row.period_end, row.granted, row.used)
            for pk, (k, row) in zip(ids, new, strict=True)])
