"""Allowance usage rows of a chunk: locked (the serial way), consumed in memory in record order with
each record's cost priced once, written back in one statement. ``_Usage`` is a part of
``chunk._Chunk``."""

from __future__ import annotations

from django.db import connection

from tripleplay.core.bulk import batches, insert_rows, reserve_ids
from tripleplay.money import currency_exponent, rounding_mode
from tripleplay.rating import pricing
from tripleplay.rating.bulk.result import _Rec
from tripleplay.rating.bulk.sql import USAGE_COLUMNS
from tripleplay.rating.models import AllowanceUsage


def lock_usage_rows(keys: list[tuple]) -> list[tuple]:
    """PostgreSQL: the usage rows of these (assignment, allowance, period) keys that exist, as (id,
    assignment, allowance, period, granted, used), locked in id order so that two importers take them
    in the same order (the serial path and the pipeline's check both lock them here)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT u.id, u.assignment_id, u.allowance_id, u.period_index, u.granted, u.used"
            " FROM rating_allowanceusage u JOIN unnest(%s::bigint[], %s::bigint[], %s::int[]) AS"
            " k(a, al, n) ON u.assignment_id = k.a AND u.allowance_id = k.al AND u.period_index = k.n"
            " ORDER BY u.id FOR UPDATE OF u",
            [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]])
        return cur.fetchall()


class _Usage:
    """``_Chunk``'s allowance usage rows and prices (a part of ``chunk._Chunk``: ``self`` is the chunk,
    with its ``pg``)."""

    def _lock_usage(self, recs: list[_Rec]) -> dict[tuple, list]:
        """(assignment, allowance, period) -> [id, granted, used] of the usage rows that exist, locked
        (PostgreSQL) in id order so that two importers take them in the same order."""
        keys = sorted({k[0] for rec in recs if rec.keys for k in rec.keys})
        usage: dict[tuple, list] = {}
        if not keys:
            return usage
        if self.pg:
            rows = lock_usage_rows(keys)
        else:  # SQLite: the chunk's transaction holds the database's write lock (BEGIN IMMEDIATE)
            wanted = set(keys)
            rows = []
            for batch in batches(sorted({k[0] for k in keys})):
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
        ids = reserve_ids("rating_allowanceusage", len(new))
        insert_rows("rating_allowanceusage", USAGE_COLUMNS, [
            (pk, k[0], k[1], k[2], row[3], row[4], row[1], row[2]) for pk, (k, row) in zip(ids, new, strict=True)])
