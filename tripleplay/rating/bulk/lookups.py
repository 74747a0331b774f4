"""The reads a chunk is rated with, and a record's rating context: accounts (by phone number and
login), their subscriptions, the rate tables with every rate (``_Table``), the plans' allowances; per
(account, service, day) the subscriptions current, the rate table and the allowance usage rows to draw
from. ``_Lookups`` is a part of ``chunk._Chunk``; ``_Memo`` is what the pipeline's chunks share."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from tripleplay.catalog.models import PlanAllowance
from tripleplay.core.bulk import batches, select_in
from tripleplay.customers.models import Status
from tripleplay.rating import pricing
from tripleplay.rating.bulk.result import _Rec
from tripleplay.rating.bulk.sql import as_date
from tripleplay.rating.models import Rate, RateTable
from tripleplay.rating.services import peak_window
from tripleplay.subscriptions import periods

_BLOCKED, _CLOSED = Status.BLOCKED.value, Status.CLOSED.value
_VOICE, _DATA = pricing.VOICE, pricing.DATA


@dataclass
class _Memo:
    """What the pipeline's chunks share: the rating contexts and what they were built from."""
    signature: list = field(default_factory=list)  # every table and rate value read
    tables: dict = field(default_factory=dict)
    allowances: dict = field(default_factory=dict)
    assignments: dict = field(default_factory=dict)  # account -> its subscription rows
    contexts: dict = field(default_factory=dict)
    periods: dict = field(default_factory=dict)


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


class _Lookups:
    """``_Chunk``'s reads and rating (a part of ``chunk._Chunk``: ``self`` is the chunk, with its ``memo``,
    ``local`` and ``detail``)."""

    def _lookups(self, recs: Iterable[_Rec], keys: tuple | None = None) -> tuple:
        """The chunk's accounts (by phone number and login), their subscriptions, the rate tables and
        the plans' allowances: every row ``_resolve_with`` needs, read in a few queries. ``keys``:
        ``_keys_of(recs)`` if already known."""
        phones, logins, services, _, _ = keys if keys is not None else _keys_of(recs)
        t = time.perf_counter()
        by_phone, by_login = {}, {}
        accounts_sql = ("SELECT a.id, a.phone_number, a.login, a.status, a.customer_id, c.status, c.currency"
                        " FROM customers_account a JOIN customers_customer c ON c.id = a.customer_id WHERE a.{column} {in}")
        for row in select_in(accounts_sql.replace("{column}", "phone_number"), [], sorted(phones)):
            by_phone[row[1]] = row
        for row in select_in(accounts_sql.replace("{column}", "login"), [], sorted(logins)):
            by_login[row[2]] = row
        accounts = sorted({row[0] for row in (*by_phone.values(), *by_login.values())})
        assignments: dict[int, list[tuple]] = {}
        for row in select_in("SELECT ap.id, ap.account_id, ap.product_id, ap.plan_id, ap.role, ap.start_date,"
                              " ap.end_date, p.period FROM customers_accountproduct ap"
                              " JOIN catalog_subscriptionplan p ON p.id = ap.plan_id WHERE ap.account_id {in}",
                              [], accounts):
            row = (*row[:5], as_date(row[5]), as_date(row[6]), row[7])
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
    for batch in batches(sorted(plans)):
        for pk, plan, service, unit, quantity in (PlanAllowance.objects.filter(plan_id__in=batch)
                                                  .order_by("id").values_list("id", "plan_id", "service_type",
                                                                              "unit", "quantity")):
            if pricing.ALLOWANCE_UNIT_OF.get(service) == unit and (plan, service) not in out:
                out[(plan, service)] = (pk, quantity * pricing.ALLOWANCE_UNIT[unit])
    return out
