"""Closing billing periods into invoices, the invoice run, out-of-turn invoices, void + credit note,
and settlement of invoices by payments (oldest first). docs/invoicing.md.

One transaction closes a batch of customers (the run's batch, or a single customer):
1. claim their BillingSchedule rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several processes
   split a run without waiting on each other), then lock their customer rows (payments take the
   customer row first too, so a payment and an invoice of one customer are serialized);
2. read their ledger entries created before the period's end and not on any document yet;
3. build the lines (tripleplay.invoicing.lines) and the tax per line;
4. take the numbers from the series' counter row (one UPDATE ... RETURNING, the lock held to commit);
5. insert the invoices, lines and InvoicedEntry marks, post each invoice's tax to the ledger, settle
   from the customer's unallocated payments, and move the schedule rows to the next period.
A crash anywhere rolls all of it back, numbers included: a rerun finds the same work, issues it
once, and the numbers stay gapless. Entries committed meanwhile are simply not on this invoice:
they are not marked, so the next one takes them.

Lock order (docs/concurrency.md): schedule rows, customer rows (ascending id), series row, funds rows.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, Sum, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from tripleplay import clock
from tripleplay.audit.services import record, record_many
from tripleplay.bundles import services as bundles
from tripleplay.core import bulk
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.core.idempotency import fingerprint
from tripleplay.customers.models import Customer, Status
from tripleplay.invoicing import lines as L
from tripleplay.invoicing import periods
from tripleplay.invoicing.hooks import CREDIT_NOTE_ISSUED, INVOICES_ISSUED, INVOICES_PAID, PAYMENT_SETTLED
from tripleplay.invoicing.models import (
    OPEN_STATUSES,
    BillingSchedule,
    DocumentKind,
    Invoice,
    InvoicedEntry,
    InvoiceLine,
    InvoiceSeries,
    InvoiceStatus,
    Section,
)
from tripleplay.ledger import bulk as ledger_bulk
from tripleplay.ledger import selectors as ledger_selectors
from tripleplay.ledger.hooks import Payment
from tripleplay.ledger.models import EntryKind, LedgerEntry
from tripleplay.money import rounding_mode

log = logging.getLogger("tripleplay.invoicing")

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
TAX_SOURCE = "tax"
CREDIT_NOTE_SOURCE = "credit_note"


def grace_days() -> int:
    return settings.TRIPLEPLAY_INVOICE_GRACE_DAYS


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _midnight(day: date) -> datetime:
    """The first instant of ``day`` in the installation's time zone (entries before it are in)."""
    return timezone.make_aware(datetime.combine(day, dtime.min), timezone.get_default_timezone())


def ensure_series() -> None:
    for code in (INVOICE_SERIES, CREDIT_NOTE_SERIES):
        InvoiceSeries.objects.get_or_create(code=code, defaults={"prefix": f"{code}-"})


def ensure_schedules() -> int:
    """Give every customer without one a schedule row: its first period is the one containing the
    day it was created. Set-based (one INSERT ... SELECT per billing cycle and creation day) and safe
    to run concurrently (conflicts ignored). Returns the rows created."""
    missing = Customer.objects.filter(~Exists(BillingSchedule.objects.filter(customer_id=OuterRef("pk"))))
    # order_by(): without it the model's default ordering (id) joins the DISTINCT: one group per customer.
    groups = list(missing.annotate(day=TruncDate("created_at")).order_by()
                  .values_list("billing_period", "bill_cycle_day", "day").distinct())
    schedule = connection.ops.quote_name(BillingSchedule._meta.db_table)
    customers = connection.ops.quote_name(Customer._meta.db_table)
    ops = connection.ops
    created = 0
    # Customers of the group that have a row already are skipped by ON CONFLICT (the primary key), not
    # by NOT EXISTS on the table being inserted into: on a table the planner believed empty (a first
    # run), that anti-join became a nested loop re-reading the growing table for every customer
    # (100,000 customers: 41 s; now 0.6 s).
    with connection.cursor() as cursor:
        for period, cycle_day, day in groups:
            start, end = periods.period_containing(period, cycle_day, day)
            cursor.execute(
                f"INSERT INTO {schedule} (customer_id, next_period_start, next_period_end, balance_minor)"
                f" SELECT c.id, %s, %s, 0 FROM {customers} c WHERE c.billing_period = %s AND c.bill_cycle_day = %s"
                f" AND c.created_at >= %s AND c.created_at < %s ON CONFLICT DO NOTHING",
                [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end), period, cycle_day,
                 ops.adapt_datetimefield_value(_midnight(day)),
                 ops.adapt_datetimefield_value(_midnight(day + timedelta(days=1)))])
            created += cursor.rowcount
    return created


def _take_numbers(series: str, count: int) -> tuple[str, int]:
    """Allocate ``count`` consecutive numbers of ``series``: (prefix, first). The row stays locked
    until the caller's transaction ends, so a rollback gives the numbers back: no gaps."""
    table = connection.ops.quote_name(InvoiceSeries._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET next_number = next_number + %s WHERE code = %s"
                       f" RETURNING next_number, prefix", [count, series])
        row = cursor.fetchone()
    if row is None:
        raise Conflict(f"invoice series {series!r} does not exist", code="invoice_series_missing")
    return row[1], row[0] - count


def number_text(prefix: str, number: int) -> str:
    return f"{prefix}{number:06d}"


# -- closing ---------------------------------------------------------------------------------------


@dataclass
class _Job:
    """One document to issue: a customer, the period it covers, which entries are in."""

    customer: dict
    period_start: date
    period_end: date
    cutoff: datetime  # entries created before this instant
    out_of_turn: bool = False
    entries: list[L.EntryRow] = field(default_factory=list)
    lines: list[L.Line] = field(default_factory=list)
    invoice: Invoice | None = None


_CUSTOMER_FIELDS = ("id", "name", "email", "address_line1", "address_line2", "city", "postal_code", "country",
                    "currency", "tax_rate", "status", "billing_period", "bill_cycle_day")


def _among(model: type, column: str, ids: list[int]) -> Q | RawSQL:
    """A filter ``column IN ids``. PostgreSQL: one array parameter (``= ANY(%s)``) instead of a thousand
    placeholders, which psycopg scans and Django prepares one by one (together ~5 ms a batch query)."""
    if not _is_postgres():
        return Q(**{f"{column}__in": ids})
    qn = connection.ops.quote_name
    # Typed bigint[] (D261): psycopg sends a list of small ints as smallint[] or integer[], and a
    # bigint column compared with those is a cross-type operator PostgreSQL cannot hash: a filter then
    # compared each row with the thousand values one by one (200 ms a batch on 50,000 invoices).
    return RawSQL(f"{qn(model._meta.db_table)}.{qn(column)} = ANY(%s::bigint[])", (list(ids),),
                  output_field=BooleanField())


def _lock_customers(ids: list[int]) -> dict[int, dict]:
    qs = Customer.objects.filter(_among(Customer, "id", ids)).order_by("id").values(*_CUSTOMER_FIELDS)
    # FOR NO KEY UPDATE: serializes with payments (which take the same lock) but not with the KEY SHARE
    # lock every insert of an entry referencing the customer takes; FOR UPDATE would, and a charge
    # holding the funds row while inserting its entry would deadlock with us updating that funds row.
    return {c["id"]: c for c in qs.select_for_update(no_key=True)}


def _read_entries(jobs: list[_Job]) -> None:
    by_cutoff: dict[datetime, list[_Job]] = defaultdict(list)
    for job in jobs:
        by_cutoff[job.cutoff].append(job)
    for cutoff, group in by_cutoff.items():
        index = {job.customer["id"]: job for job in group}
        found = ledger_selectors.entries_to_invoice(list(index), cutoff, marked_by=InvoicedEntry, entry=L.EntryRow)
        for cid, rows in found.items():
            index[cid].entries.extend(rows)


def _issue(actor: Actor, jobs: list[_Job], issue_date: date, batch_delay: float = 0) -> list[Invoice]:
    """Build and insert the invoices of ``jobs`` (inside the caller's transaction, customers locked)."""
    if not jobs:
        return []
    mode = settings.TRIPLEPLAY_ROUNDING
    rounding_mode(mode)  # refuse an unknown mode before anything is written
    _read_entries(jobs)
    # customer id -> (balance after the last document, next period start, next period end)
    schedules = {cid: (balance, start, end) for cid, balance, start, end in BillingSchedule.objects.filter(
        _among(BillingSchedule, "customer_id", [j.customer["id"] for j in jobs])).values_list(
            "customer_id", "balance_minor", "next_period_start", "next_period_end")}
    now = clock.now()
    _add_bundle_discounts(actor, jobs, now)
    due = issue_date + timedelta(days=grace_days())
    invoices = []
    actor_kind = str(actor.kind)
    for job in jobs:
        c = job.customer
        rate = Decimal(c["tax_rate"])
        job.lines = L.build_lines(job.entries, rate, c["currency"], mode)
        t = L.totals(job.lines)
        opening = schedules[c["id"]][0]
        # Named here, passed positionally in _INVOICE_COLUMNS order: Django's keyword __init__ cost three
        # times as much. A column missing from the dict (a new model field) is a KeyError, not a shift.
        inv = Invoice(*_in_column_order({
            **_NEW_INVOICE, "actor_kind": actor_kind, "actor_ref": actor.ref, "actor_name": actor.name,
            "customer_id": c["id"], "out_of_turn": job.out_of_turn, "period_start": job.period_start,
            "period_end": job.period_end, "issue_date": issue_date, "due_date": due, "currency": c["currency"],
            "tax_rate": rate, "rounding": mode, "opening_balance_minor": opening,
            "payments_minor": t.payments_minor, "subtotal_minor": t.subtotal_minor, "tax_minor": t.tax_minor,
            "total_minor": t.total_minor, "amount_due_minor": opening - t.payments_minor + t.total_minor,
            "bill_to": _bill_to(c), "created_at": now, "updated_at": now}))
        job.invoice = inv
        invoices.append(inv)
    _settle(list({j.customer["id"] for j in jobs}), issue_date, new=invoices)
    # The numbers last: the series row stays locked until commit, so other processes wait on it only
    # for this batch's inserts, not for the reading and computing above.
    prefix, first = _take_numbers(INVOICE_SERIES, len(jobs))
    for i, inv in enumerate(invoices):
        inv.number, inv.number_text = first + i, number_text(prefix, first + i)
    if batch_delay:
        time.sleep(batch_delay)  # crash tests: a window in which the run is killed mid-transaction
    for inv, pk in zip(invoices, bulk.take_ids(Invoice, len(invoices)), strict=True):
        inv.pk = inv.id = pk
    bulk.insert(Invoice, _INVOICE_COLUMNS, [_invoice_row(inv) for inv in invoices])
    line_rows, marks = [], []
    for job in jobs:
        inv_id = job.invoice.pk
        for pos, ln in enumerate(job.lines, 1):
            line_rows.append((inv_id, pos, ln.section, ln.service_type, ln.description[:200], ln.quantity,
                              ln.amount_minor, ln.tax_minor, ln.period_start, ln.period_end))
            marks.extend((eid, inv_id) for eid in ln.entry_ids)
    # The lines take their ids from the table's default: nothing refers to a line by id in this batch.
    bulk.insert_rows(_LINES, _LINE_COLUMNS, line_rows)
    for inv_id, entry_id in _post_taxes(actor, [j.invoice for j in jobs if j.invoice.tax_minor], now):
        marks.append((entry_id, inv_id))
    bulk.insert_rows(_MARKS, _MARK_COLUMNS, marks)
    moves = []
    for job in jobs:
        c = job.customer
        _, start, end = schedules[c["id"]]
        if not job.out_of_turn:
            start, end = periods.next_period(c["billing_period"], c["bill_cycle_day"], job.period_end)
        moves.append((c["id"], job.invoice.amount_due_minor, start, end))
    bulk.update_from_values(BillingSchedule, "customer_id", ["balance_minor", "next_period_start", "next_period_end"],
                            moves)
    record_many(actor, "invoice.issued", "invoice", {
        str(inv.pk): {"customer": inv.customer_id, "number": inv.number_text, "total_minor": inv.total_minor,
                      "tax_minor": inv.tax_minor, "out_of_turn": inv.out_of_turn} for inv in invoices}, at=now)
    # One call per batch (set-based handlers), never one per invoice.
    INVOICES_ISSUED(actor, invoices)
    paid = [inv for inv in invoices if inv.status == InvoiceStatus.PAID and inv.total_minor > 0]
    if paid:
        INVOICES_PAID(paid)
    return invoices


def _add_bundle_discounts(actor: Actor, jobs: list[_Job], now: datetime) -> None:
    """Bundle discounts (issue #13, D140): the discounts of the recurring fees on these invoices, posted
    now, set-wise for the batch, and put on the same invoices as their own lines. Closed customers
    get none (the ledger credits no closed customer)."""
    open_jobs = {j.customer["id"]: j for j in jobs if j.customer["status"] != Status.CLOSED}
    posted = bundles.post_fee_discounts(actor, now, [(cid, j.customer["currency"], j.entries)
                                                     for cid, j in open_jobs.items()], entry=L.EntryRow)
    for cid, rows in posted.items():
        open_jobs[cid].entries.extend(rows)


# The lines and marks by binary COPY with their columns' types (D262): with text COPY psycopg wrote
# every value as text and PostgreSQL parsed it back, ~24 values a customer.
_LINES, _MARKS = InvoiceLine._meta.db_table, InvoicedEntry._meta.db_table
_LINE_COLUMNS = {"invoice_id": bulk.INT8, "position": bulk.INT4, "section": bulk.TEXT, "service_type": bulk.TEXT,
                 "description": bulk.TEXT, "quantity": bulk.INT4, "amount_minor": bulk.INT8, "tax_minor": bulk.INT8,
                 "period_start": bulk.DATE, "period_end": bulk.DATE}
_MARK_COLUMNS = {"entry_id": bulk.INT8, "invoice_id": bulk.INT8}
_INVOICE_COLUMNS = [f.attname for f in Invoice._meta.concrete_fields]  # every column, in the model's order
_invoice_row = operator.attrgetter(*_INVOICE_COLUMNS)
_in_column_order = operator.itemgetter(*_INVOICE_COLUMNS)
# What every invoice of the run starts as (numbers are given when the batch is saved).
_NEW_INVOICE = {"id": None, "kind": DocumentKind.INVOICE, "series": INVOICE_SERIES, "number": None,
                "number_text": None, "credit_note_for_id": None, "settled_minor": 0, "status": InvoiceStatus.UNPAID,
                "voided_at": None, "void_reason": "", "pdf_path": "", "pdf_sha256": "", "notified_at": None}


def _bill_to(c: dict) -> dict:
    return {k: c[k] for k in ("name", "email", "address_line1", "address_line2", "city", "postal_code", "country")}


def _post_taxes(actor: Actor, invoices: list[Invoice], now: datetime) -> list[tuple[int, int]]:
    """Post each invoice's tax as a ledger entry (a charge; a credit when the tax is negative) through
    the ledger's set-based API: unconditional, tax on what was delivered, like usage. Returns
    (invoice id, entry id) pairs."""
    postings = [ledger_bulk.Posting(
        customer_id=inv.customer_id, amount_minor=-inv.tax_minor, currency=inv.currency,
        description=f"Tax {inv.tax_rate.normalize()}% on invoice {inv.number_text}", source=TAX_SOURCE,
        reference=inv.number_text, idempotency_key=f"invoice:{inv.number_text}:tax",
        request_fingerprint=fingerprint(invoice=inv.number_text, tax=inv.tax_minor), data={"invoice": inv.number_text},
    ) for inv in invoices]
    ids = ledger_bulk.post_entries(actor, now, postings)
    return [(inv.pk, pk) for inv, pk in zip(invoices, ids, strict=True)]


def _status(inv: Invoice, today: date) -> str:
    if inv.status == InvoiceStatus.VOID or inv.kind == DocumentKind.CREDIT_NOTE:
        return inv.status
    if inv.settled_minor >= max(inv.total_minor, 0):
        return InvoiceStatus.PAID
    if inv.due_date < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.PARTIALLY_PAID if inv.settled_minor else InvoiceStatus.UNPAID


def _settle(customer_ids: list[int], today: date, new: list[Invoice] = ()) -> list[Invoice]:
    """Allocate the customers' money to their invoices, oldest first (customers locked by the caller).

    Money to allocate = payments less refunds + what invoices with a negative total give back; each
    invoice not void takes what it still lacks, in issue order. Voiding an invoice frees what was
    allocated to it. ``new`` are invoices being issued (not saved yet): they come last. Returns the
    saved invoices whose settlement or status changed (already written)."""
    paid = dict(LedgerEntry.objects.filter(_among(LedgerEntry, "customer_id", customer_ids),
                                           kind__in=(EntryKind.PAYMENT, EntryKind.REFUND))
                .values("customer_id").annotate(s=Sum("amount_minor")).values_list("customer_id", "s"))
    if _is_postgres():
        agg, open_ids = _documents(customer_ids)
        open_docs = list(Invoice.objects.filter(_among(Invoice, "id", open_ids)).order_by(
            "customer_id", "issue_date", "number")) if open_ids else []
    else:
        docs = Invoice.objects.filter(customer_id__in=customer_ids, kind=DocumentKind.INVOICE).exclude(
            status=InvoiceStatus.VOID)
        agg = {r["customer_id"]: r for r in docs.values("customer_id").annotate(
            settled=Sum("settled_minor"), back=Sum(Case(When(total_minor__lt=0, then=-F("total_minor")), default=0)))}
        open_docs = list(docs.filter(status__in=OPEN_STATUSES).order_by("customer_id", "issue_date", "number"))
    free = {cid: (paid.get(cid) or 0) + (agg.get(cid, {}).get("back") or 0) - (agg.get(cid, {}).get("settled") or 0)
            for cid in customer_ids}
    for inv in new:
        if inv.total_minor < 0:
            free[inv.customer_id] += -inv.total_minor
    changed = []
    now = clock.now()
    for inv in [*open_docs, *new]:
        before = (inv.settled_minor, inv.status)
        give = max(0, min(free[inv.customer_id], inv.total_minor - inv.settled_minor))
        inv.settled_minor += give
        free[inv.customer_id] -= give
        inv.status = _status(inv, today)
        if inv.pk and (inv.settled_minor, inv.status) != before:
            inv.updated_at = now
            changed.append(inv)
    if changed:
        Invoice.objects.bulk_update(changed, ["settled_minor", "status", "updated_at"])
        now_paid = [inv for inv in changed if inv.status == InvoiceStatus.PAID]
        if now_paid:
            INVOICES_PAID(now_paid)
    return changed


def _documents(customer_ids: list[int]) -> tuple[dict[int, dict], list[int]]:
    """PostgreSQL: the customers' invoices that are not void, per customer (D261): customer -> {settled,
    back} (what is allocated to them; what those with a negative total give back) and the ids of the
    open ones. One index lookup per customer whatever the planner believes of the table: on a table
    the invoice run is filling (a first run: statistics of an empty table) a plain ``= ANY`` filter
    was planned as a scan of every invoice, twice a batch (at 100,000 customers a third of the run)."""
    table = connection.ops.quote_name(Invoice._meta.db_table)
    # OFFSET 0 keeps the subquery from being pulled up into a join the planner could hash.
    sql = (f"SELECT d.id, d.customer_id, d.total_minor, d.settled_minor, d.status FROM unnest(%s::bigint[]) AS c(id)"
           f" CROSS JOIN LATERAL (SELECT i.id, i.customer_id, i.total_minor, i.settled_minor, i.status FROM {table} i"
           f" WHERE i.customer_id = c.id AND i.kind = %s AND i.status <> %s OFFSET 0) d")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(customer_ids), str(DocumentKind.INVOICE), str(InvoiceStatus.VOID)])
        rows = cursor.fetchall()
    agg: dict[int, dict] = {}
    open_ids = []
    for pk, cid, total, settled, status in rows:
        a = agg.setdefault(cid, {"settled": 0, "back": 0})
        a["settled"] += settled
        if total < 0:
            a["back"] += -total
        if status in OPEN_STATUSES:
            open_ids.append(pk)
    return agg, open_ids


@dataclass
class RunReport:
    through: date
    invoices: int = 0
    customers: int = 0
    batches: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"through {self.through}: {self.invoices} invoices issued in {self.batches} batches; "
                f"{len(self.failures)} failures")


def due_count(through: date) -> int:
    return BillingSchedule.objects.filter(next_period_end__lte=through).count()


def close_due_batch(actor: Actor, through: date, *, issue_date: date | None = None, limit: int = 500,
                    customer_ids: list[int] | None = None, batch_delay: float = 0) -> list[Invoice]:
    """Close one batch of due periods (ends on or before ``through``), in one transaction."""
    return _close_due_batch(actor, through, issue_date=issue_date, limit=limit, customer_ids=customer_ids,
                            batch_delay=batch_delay)[0]


def _close_due_batch(actor: Actor, through: date, *, issue_date: date | None, limit: int,
                     customer_ids: list[int] | None, batch_delay: float,
                     from_id: int = 0) -> tuple[list[Invoice], int, int]:
    """(invoices issued, schedule rows claimed, the lowest customer id that may still be due: no
    customer below it that this batch saw is due any more). Claims start at ``from_id``."""
    issue_date = issue_date or through
    with transaction.atomic():
        if _is_postgres():
            # No JIT compilation for the batch's statements (D261): a batch's reads are index lookups whose
            # estimated cost can pass jit_above_cost, and compiling took longer (~20-60 ms) than running them.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        qs = BillingSchedule.objects.filter(next_period_end__lte=through).order_by("customer_id")
        if from_id:
            qs = qs.filter(customer_id__gte=from_id)
        if customer_ids is not None:
            qs = qs.filter(customer_id__in=customer_ids)
        claimed = list(qs.select_for_update(skip_locked=_is_postgres())
                       .values_list("customer_id", "next_period_start", "next_period_end")[:limit])
        if not claimed:
            return [], 0, from_id
        customers = _lock_customers([c for c, _, _ in claimed])
        jobs = []
        moves = []  # closed without an invoice: the schedule moves on to the next period
        still_due = []  # customers with another period due after this one (a catch-up)
        for cid, start, end in claimed:
            c = customers[cid]
            nxt = periods.next_period(c["billing_period"], c["bill_cycle_day"], end)
            if nxt[1] <= through:
                still_due.append(cid)
            if c["status"] == Status.CLOSED and not _has_uninvoiced(cid, _midnight(end)):
                moves.append((cid, *nxt))  # nothing left to bill after the final invoice
                continue
            jobs.append(_Job(c, start, end, _midnight(end)))
        if moves:
            bulk.update_from_values(BillingSchedule, "customer_id", ["next_period_start", "next_period_end"], moves)
        issued = _issue(actor, jobs, issue_date, batch_delay=batch_delay)
    return issued, len(claimed), min(still_due) if still_due else claimed[-1][0] + 1


def _has_uninvoiced(customer_id: int, cutoff: datetime) -> bool:
    return LedgerEntry.objects.filter(customer_id=customer_id, created_at__lt=cutoff).filter(
        ~Exists(InvoicedEntry.objects.filter(entry_id=OuterRef("pk")))).exists()


def run_invoices(actor: Actor, through: date | None = None, *, batch_size: int = 500,
                 progress: Callable[[int, RunReport], None] | None = None, batch_delay: float = 0,
                 threads: int = 1) -> RunReport:
    """Close every billing period due by ``through`` (default today): the `invoice-run` command and
    the worker's job. Idempotent (a closed period is not due any more), resumable (each batch commits
    whole or not at all) and safe in several processes at once (claims skip locked rows).

    ``threads`` > 1 (PostgreSQL): that many batch loops in this process, each on its own connection,
    exactly as that many processes would run (D62): while one thread waits for PostgreSQL (its inserts
    and commit, holding the series row), another builds its batch's lines in Python."""
    through = through or clock.today()
    report = RunReport(through)
    ensure_series()
    ensure_schedules()
    if threads <= 1 or not _is_postgres():
        _run_loop(actor, through, batch_size, batch_delay, report, progress, None)
        return report
    import threading

    from django.db import connections

    guard = threading.Lock()
    stop = threading.Event()

    def loop():
        try:
            _run_loop(actor, through, batch_size, batch_delay, report, progress, (guard, stop))
        finally:
            connections.close_all()  # this thread's connection

    others = [threading.Thread(target=loop, name=f"invoice-run-{n}", daemon=True) for n in range(1, threads)]
    for t in others:
        t.start()
    _run_loop(actor, through, batch_size, batch_delay, report, progress, (guard, stop))
    for t in others:
        t.join()
    return report


def _run_loop(actor: Actor, through: date, batch_size: int, batch_delay: float, report: RunReport,
              progress: Callable[[int, RunReport], None] | None, shared) -> None:
    """Close batches until none is left (or a batch fails: reported; with several threads, the others
    stop after their current batch)."""
    guard, stop = shared or (None, None)
    # Each claim starts at the lowest customer id that may still be due (the schedule's primary key
    # index is scanned from there, not from the start past every customer already closed: at 100,000
    # customers that scan cost ~20 ms a batch). A claim from there that finds nothing is repeated from
    # the start once: rows another process held (or rolled back) are then seen, and the run ends only
    # when a claim over the whole table finds nothing. One process claims exactly as a scan from the
    # start would: no customer below the mark is due.
    from_id = 0
    while not (stop and stop.is_set()):
        try:
            issued, claimed, next_id = _close_due_batch(actor, through, issue_date=None, limit=batch_size,
                                                        customer_ids=None, batch_delay=batch_delay, from_id=from_id)
        except Exception as e:  # noqa: BLE001 - the run reports and stops; a rerun resumes
            log.exception("invoice run batch failed")
            with guard or contextlib.nullcontext():
                report.failures.append(f"{type(e).__name__}: {e}")
            if stop:
                stop.set()
            return
        if not claimed:
            # Nothing claimable from the mark: look once more from the start; nothing there either: all
            # done, or the rest is being closed by other processes right now (theirs to finish).
            if from_id == 0:
                return
            from_id = 0
            continue
        from_id = next_id
        if not issued:
            continue  # every claimed customer was a closed one with nothing left to bill (moved on)
        with guard or contextlib.nullcontext():
            report.batches += 1
            report.invoices += len(issued)
            report.customers += len({i.customer_id for i in issued})
            if progress:
                progress(len(issued), report)


def issue_out_of_turn(actor: Actor, customer: Customer) -> Invoice:
    """An invoice now, on request, for everything not yet invoiced; the regular period still closes
    on its day with what comes after."""
    ensure_series()
    ensure_schedules()
    today = clock.today()
    with transaction.atomic():
        s = BillingSchedule.objects.select_for_update().get(customer_id=customer.pk)
        c = _lock_customers([customer.pk])[customer.pk]
        # Everything recorded up to this instant, included (an entry written at the same clock tick too).
        job = _Job(c, s.next_period_start, max(today + timedelta(days=1), s.next_period_start),
                   clock.now() + timedelta(microseconds=1), out_of_turn=True)
        (invoice,) = _issue(actor, [job], today)
        record(actor, "invoice.out_of_turn", invoice, customer=customer.pk, number=invoice.number_text)
    return invoice


def void_invoice(actor: Actor, invoice: Invoice, *, reason: str) -> Invoice:
    """Void an issued invoice: its content stays as issued; a credit note reverses its charges and tax
    (a ledger credit of its total), and what was paid towards it goes to the customer's other
    invoices. Returns the credit note."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a reason is required", details={"field": "reason"})
    from tripleplay.ledger.services import post_entry

    ensure_series()
    with transaction.atomic():
        s = BillingSchedule.objects.select_for_update().get(customer_id=invoice.customer_id)
        c = _lock_customers([invoice.customer_id])[invoice.customer_id]
        inv = Invoice.objects.select_for_update(no_key=True).get(pk=invoice.pk)
        if inv.kind != DocumentKind.INVOICE:
            raise Conflict("only an invoice can be voided", code="not_an_invoice")
        if inv.status == InvoiceStatus.VOID:
            raise Conflict(f"invoice {inv.number_text} is already void", code="invoice_void")
        now, today = clock.now(), clock.today()
        prefix, number = _take_numbers(CREDIT_NOTE_SERIES, 1)
        opening = s.balance_minor
        cn = Invoice(customer_id=inv.customer_id, kind=DocumentKind.CREDIT_NOTE, series=CREDIT_NOTE_SERIES,
                     number=number, number_text=number_text(prefix, number), credit_note_for=inv,
                     period_start=inv.period_start, period_end=inv.period_end, issue_date=today, due_date=today,
                     currency=inv.currency, tax_rate=inv.tax_rate, rounding=inv.rounding,
                     opening_balance_minor=opening, payments_minor=0, subtotal_minor=-inv.subtotal_minor,
                     tax_minor=-inv.tax_minor, total_minor=-inv.total_minor,
                     amount_due_minor=opening - inv.total_minor, status=InvoiceStatus.ISSUED, bill_to=_bill_to(c),
                     created_at=now, updated_at=now)
        cn.set_actor(actor)
        cn.save()
        taxable = inv.lines.exclude(section=Section.PAYMENTS).order_by("position")
        InvoiceLine.objects.bulk_create([
            InvoiceLine(invoice=cn, position=i, section=Section.CREDIT_NOTE, service_type=ln.service_type,
                        description=f"Reversal of {inv.number_text}: {ln.description}"[:200], quantity=ln.quantity,
                        amount_minor=-ln.amount_minor, tax_minor=-ln.tax_minor, period_start=ln.period_start,
                        period_end=ln.period_end)
            for i, ln in enumerate(taxable, 1)])
        if inv.total_minor:
            customer = Customer.objects.get(pk=inv.customer_id)
            kind = EntryKind.CREDIT if inv.total_minor > 0 else EntryKind.ADJUSTMENT
            entry = post_entry(actor, customer, kind=kind, amount=_money(inv.total_minor, inv.currency),
                               idempotency_key=f"invoice:{cn.number_text}:credit",
                               description=f"Credit note {cn.number_text} for invoice {inv.number_text}",
                               reason=reason, source=CREDIT_NOTE_SOURCE, reference=inv.number_text)
            InvoicedEntry.objects.create(entry=entry, invoice=cn)
        Invoice.objects.filter(pk=inv.pk).update(status=InvoiceStatus.VOID, voided_at=now, void_reason=reason[:200],
                                                 settled_minor=0, updated_at=now)
        s.balance_minor = cn.amount_due_minor
        s.save(update_fields=["balance_minor"])
        _settle([inv.customer_id], today)
        record(actor, "invoice.voided", inv, number=inv.number_text, credit_note=cn.number_text, reason=reason)
        CREDIT_NOTE_ISSUED(actor, cn)
    return cn


def _money(minor: int, currency: str):
    from tripleplay.money import Money

    return Money(minor, currency)


# -- payments (handlers of tripleplay.ledger.hooks, registered in tripleplay.invoicing.apps) ------------


def lock_for_payment(customer: Customer) -> None:
    """Inside the payment's transaction, before its funds UPDATE: lock the customer row, so that the
    settlement after the payment and an invoice being issued for the customer are serialized."""
    list(Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).values_list("pk", flat=True))


def settle_after_payment(actor: Actor, customer: Customer) -> None:
    """Allocate the payment to the oldest open invoices; then let the PAYMENT_SETTLED handlers (collections,
    registered in tripleplay.collections.apps: lift a suspension it imposed if nothing is overdue any
    more) react, in the same transaction."""
    # A failure here must not lose the payment: back to a savepoint, logged; the next payment or the
    # collections job settles and lifts the same way.
    try:
        with transaction.atomic():
            _settle([customer.pk], clock.today())
            PAYMENT_SETTLED(actor, customer)
    except Exception:
        log.exception("settling invoices after a payment of customer #%s failed", customer.pk)


def on_payment_locking(payment: Payment) -> None:
    lock_for_payment(payment.customer)


def on_payment_recorded(payment: Payment) -> None:
    settle_after_payment(payment.actor, payment.customer)


def mark_overdue(today: date | None = None) -> int:
    """Unpaid and partially paid invoices past their due date become overdue."""
    today = today or clock.today()
    return Invoice.objects.filter(kind=DocumentKind.INVOICE, status__in=(InvoiceStatus.UNPAID,
                                                                          InvoiceStatus.PARTIALLY_PAID),
                                  due_date__lt=today).update(status=InvoiceStatus.OVERDUE, updated_at=clock.now())

