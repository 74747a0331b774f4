"""The reads a chunk is rated with, and a record's rating context: accounts (by phone number and
login), their subscriptions, the rate tables with every rate (``cascade.PriceList``), the plans'
allowances; per (account, service, day) the subscriptions current, the rate table and the allowance
usage rows to draw from. The rules are rating.cascade's, called per record; what is built here once
per chunk is their indexes. ``Lookups`` is a part of ``chunk.Chunk``; ``RatingMemo`` is what the
pipeline's chunks share."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from tripleplay.catalog.models import PlanAllowance
from tripleplay.core.bulk import batches, select_in
from tripleplay.rating import cascade, pricing
from tripleplay.rating.bulk.result import BulkRecord
from tripleplay.rating.bulk.sql import as_date
from tripleplay.rating.models import Rate, RateTable
from tripleplay.rating.services import peak_window
from tripleplay.subscriptions import periods, schedule

_VOICE, _DATA = pricing.VOICE, pricing.DATA


class AccountRow(NamedTuple):
    """An account a chunk's records belong to, with what rating needs of its customer."""

    id: int
    phone_number: str | None
    login: str | None
    status: str
    customer_id: int
    customer_status: str
    currency: str  # the customer's


class Subscription(NamedTuple):
    """A product assignment of an account (customers.AccountProduct) with what lays its plan's periods
    (the plan's period, alignment and first-period proration; the customer's billing cycle)."""

    id: int
    account_id: int
    product_id: int
    plan_id: int
    role: str
    start_date: date
    end_date: date | None
    period: str
    alignment: str = schedule.ANNIVERSARY
    prorate_first_period: bool = True
    billing_period: str = periods.MONTHLY
    bill_cycle_day: int = 1


class Allowance(NamedTuple):
    """The allowance of a plan for a service that rating counts."""

    id: int
    granted: int  # base units per period


class UsageKey(NamedTuple):
    """An allowance usage row's unique key."""

    assignment_id: int
    allowance_id: int
    period_index: int


class AllowanceDraw(NamedTuple):
    """An allowance usage row a record draws from (created with these values if it does not exist)."""

    key: UsageKey
    period_start: date
    period_end: date
    granted: int


class RatingContext(NamedTuple):
    """For an account, a service and a usage day: what rates it, and the days it holds for."""

    valid_from: date
    valid_until: date  # exclusive
    current: list[Subscription]  # main first
    prices: cascade.PriceList | None
    draws: tuple[AllowanceDraw, ...]


class ChunkKeys(NamedTuple):
    """What the reads need from a chunk's records parsed without a problem."""

    phones: set[str]
    logins: set[str]
    services: set[str]
    first_start: datetime | None
    last_start: datetime | None


class ChunkLookups(NamedTuple):
    by_phone: dict[str, AccountRow]
    by_login: dict[str, AccountRow]
    subscriptions: dict[int, list[Subscription]]  # account -> its subscriptions, main first
    price_lists: dict[tuple[int, str], cascade.PriceList]  # (product, service) -> its rate table
    allowances: dict[tuple[int, str], Allowance]  # (plan, service) -> its allowance

    def accounts(self) -> list[AccountRow]:
        return [*self.by_phone.values(), *self.by_login.values()]


@dataclass
class RatingMemo:
    """What the pipeline's chunks share: the rating contexts and what they were built from."""
    signature: list = field(default_factory=list)  # every table and rate value read
    tables: dict = field(default_factory=dict)
    allowances: dict = field(default_factory=dict)
    assignments: dict = field(default_factory=dict)  # account -> its subscription rows
    contexts: dict = field(default_factory=dict)
    periods: dict = field(default_factory=dict)


def keys_of(recs: Iterable[BulkRecord]) -> ChunkKeys:
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
    return ChunkKeys(phones, logins, services, first, last)


class Lookups:
    """``Chunk``'s reads and rating (a part of ``chunk.Chunk``: ``self`` is the chunk, with its ``memo``,
    ``local`` and ``detail``)."""

    def _lookups(self, recs: Iterable[BulkRecord], keys: ChunkKeys | None = None) -> ChunkLookups:
        """The chunk's accounts (by phone number and login), their subscriptions, the rate tables and
        the plans' allowances: every row ``_resolve_with`` needs, read in a few queries. ``keys``:
        ``keys_of(recs)`` if already known."""
        if keys is None:
            keys = keys_of(recs)
        t = time.perf_counter()
        by_phone, by_login = {}, {}
        accounts_sql = ("SELECT a.id, a.phone_number, a.login, a.status, a.customer_id, c.status, c.currency"
                        " FROM customers_account a JOIN customers_customer c ON c.id = a.customer_id WHERE a.{column} {in}")
        for row in select_in(accounts_sql.replace("{column}", "phone_number"), [], sorted(keys.phones)):
            account = AccountRow._make(row)
            by_phone[account.phone_number] = account
        for row in select_in(accounts_sql.replace("{column}", "login"), [], sorted(keys.logins)):
            account = AccountRow._make(row)
            by_login[account.login] = account
        accounts = sorted({account.id for account in (*by_phone.values(), *by_login.values())})
        assignments: dict[int, list[Subscription]] = {}
        for row in select_in("SELECT ap.id, ap.account_id, ap.product_id, ap.plan_id, ap.role, ap.start_date,"
                              " ap.end_date, p.period, p.alignment, p.prorate_first_period, c.billing_period,"
                              " c.bill_cycle_day FROM customers_accountproduct ap"
                              " JOIN catalog_subscriptionplan p ON p.id = ap.plan_id"
                              " JOIN customers_account a ON a.id = ap.account_id"
                              " JOIN customers_customer c ON c.id = a.customer_id WHERE ap.account_id {in}",
                              [], accounts):
            sub = Subscription(*row[:5], as_date(row[5]), as_date(row[6]), row[7], row[8], bool(row[9]), row[10],
                               row[11])
            assignments.setdefault(sub.account_id, []).append(sub)
        for rows in assignments.values():
            rows.sort(key=lambda a: cascade.subscription_order(a.role, a.id))
        signature: list = []
        tables = _price_lists(keys.services, signature)
        allowances = _allowances({a.plan_id for rows in assignments.values() for a in rows})
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
            for acc in {account.id for account in (*by_phone.values(), *by_login.values())}:
                rows = assignments.get(acc, [])
                if memo.assignments.get(acc) != rows:
                    memo.assignments[acc] = rows
                    for service in pricing.SERVICE_TYPES:
                        memo.contexts.pop((acc, service), None)
        self.detail["lookups"] = time.perf_counter() - t
        return ChunkLookups(by_phone, by_login, assignments, tables, allowances)

    def _resolve_with(self, recs: list[BulkRecord], lookups: ChunkLookups) -> None:
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
            if service == _DATA:
                acc = by_login.get(f["login"])
                if acc is None:
                    rec.code, rec.reason = cascade.unknown_login(f["login"])
                    continue
            else:
                acc = by_phone.get(f["caller"])
                if acc is None:
                    rec.code, rec.reason = cascade.unknown_phone_number(f["caller"])
                    continue
            rec.account_id = acc.id
            refusal = cascade.status_refusal(acc.status, acc.customer_status)
            if refusal is not None:
                rec.code, rec.reason = refusal
                continue
            started = f["started_at"]
            at_local = started.astimezone(local)
            day = at_local.date()
            key = (acc.id, service)
            held = contexts.get(key)
            if held is None or not held.valid_from <= day < held.valid_until:
                held = contexts[key] = self._context(assignments.get(acc.id, ()), day, service, tables,
                                                     allowances, period_cache)
            prices = held.prices
            if not held.current:
                rec.code, rec.reason = cascade.no_subscription(day)
                continue
            if prices is None:
                rec.code, rec.reason = cascade.no_rate_table(service)
                continue
            if prices.currency != acc.currency:
                rec.code, rec.reason = cascade.currency_mismatch(prices.currency, acc.currency)
                continue
            # The record parsed without a problem: its service's fields are all there (pricing.base_quantity).
            if service == _VOICE:
                number, quantity = f["callee"], f["duration_seconds"]
            elif service == _DATA:
                number, quantity = "", pricing.kilobytes(f["bytes"])
            else:
                number, quantity = f["destination"], f["count"]
            choice = cascade.choose_rate(prices, number, at_local)
            if choice is None:
                rec.code, rec.reason = cascade.no_rate(prices.name, number)
                continue
            terms = choice.terms
            billed = pricing.billable(quantity, terms.first_increment, terms.next_increment)
            rec.customer_id, rec.currency, rec.rate_id, rec.terms = acc.customer_id, prices.currency, choice.rate_id, terms
            rec.unit, rec.billed, rec.offpeak = pricing.PRICED_UNIT[service], billed, choice.offpeak
            if billed:
                rec.keys = held.draws

    @staticmethod
    def _context(assignments: Iterable[Subscription], day: date, service: str, tables: dict, allowances: dict,
                 period_cache: dict) -> RatingContext:
        """For an account, a usage day and a service: the subscriptions current that day (main first),
        the rate table that rates it, and the allowance usage rows it draws from, in order; with the
        days it holds for. It changes only where a subscription starts or ends or an allowance period
        turns, so most records of an account reuse it."""
        current = [a for a in assignments if cascade.is_current(a.start_date, a.end_date, day)]
        lo, hi = date.min, date.max
        for a in assignments:
            for edge in (a.start_date, a.end_date):
                if edge is not None:
                    if edge <= day:
                        lo = max(lo, edge)
                    else:
                        hi = min(hi, edge)
        prices = next((tables[(a.product_id, service)] for a in current if (a.product_id, service) in tables), None)
        draws = []
        for a in current:
            allowance = allowances.get((a.plan_id, service))
            if allowance is None:
                continue
            # The period on the fee's grid and the allowance's share of it (D222), as per-record rating
            # (rating.services._allowance_period) has them: the same pure function.
            pkey = (*a[5:], day, allowance.granted)
            p = period_cache.get(pkey)
            if p is None:
                terms = schedule.Terms.of_grid(a.period, a.alignment, a.prorate_first_period, a.billing_period,
                                               a.bill_cycle_day)
                p = period_cache[pkey] = schedule.allowance_period(terms, a.start_date, day, allowance.granted)
            draws.append(AllowanceDraw(UsageKey(a.id, allowance.id, p.index), p.first, p.end, p.granted))
            lo, hi = max(lo, p.first), min(hi, p.end)
        return RatingContext(lo, hi, current, prices, tuple(draws))


def _price_lists(services: set[str], signature: list | None = None) -> dict[tuple[int, str], cascade.PriceList]:
    """(product, service) -> its rate table with every rate, for the services of the chunk. Every
    value read is appended to ``signature`` (to tell whether the tables changed since the last chunk)."""
    tables: dict[int, RateTable] = {}
    rates: dict[int, list[cascade.RateRow]] = {}
    sig = signature if signature is not None else []
    for table in RateTable.objects.filter(service_type__in=services).order_by("id"):
        sig.append((table.pk, table.product_id, table.service_type, table.currency, table.name, table.time_zone,
                    table.peak_start, table.peak_end, table.peak_weekdays))
        tables[table.pk] = table
        rates[table.pk] = []
    for row in Rate.objects.filter(table_id__in=list(tables)).order_by("id").values_list(
            "table_id", *cascade.RATE_FIELDS).iterator():
        sig.append(row)
        rates[row[0]].append(cascade.RateRow._make(row[1:]))
    return {(table.product_id, table.service_type): cascade.price_list(table.currency, table.name,
                                                                       *peak_window(table), rates[pk])
            for pk, table in tables.items()}


def _allowances(plans: set[int]) -> dict[tuple[int, str], Allowance]:
    """(plan, service) -> the allowance rating counts (its id, granted base units)."""
    out = {}
    for batch in batches(sorted(plans)):
        for pk, plan, service, unit, quantity in (PlanAllowance.objects.filter(plan_id__in=batch)
                                                  .order_by("id").values_list("id", "plan_id", "service_type",
                                                                              "unit", "quantity")):
            if pricing.ALLOWANCE_UNIT_OF.get(service) == unit and (plan, service) not in out:
                out[(plan, service)] = Allowance(pk, quantity * pricing.ALLOWANCE_UNIT[unit])
    return out
