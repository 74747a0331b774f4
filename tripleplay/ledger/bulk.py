"""Set-based money writes: many customers' funds rows moved in one statement, many entries posted with
one COPY (executemany on SQLite) and their audit events. Bulk rating (one charge per customer and
chunk) and the invoice run (one tax entry per invoice) write money only through here; the rows' values
are theirs to compute (a second thread may build them: ``Charges.entry`` is pure), the tables are the
ledger's. The per-record rules of ledger/services.py hold, set-wise:

- Lock order: ``debit`` locks the funds rows in ascending customer order before it moves any (bulk
  rating takes them last in its chunk's transaction, held the shortest time); ``post_entries`` moves
  its customers' funds rows in one UPDATE after the invoice run has locked their customer rows in
  ascending order (the run's lock order: invoicing/services.py, docs/concurrency.md). The entries are
  written after their funds rows moved, in the same transaction, each with the balance after read
  back by that UPDATE (RETURNING; SQLite: re-read, the database write lock held).
- Unconditional: usage that happened and tax on what was delivered are billed whatever the funds (as
  COVER_NONE in ledger/services.py). A closed customer is never debited by ``debit``: it is left out
  and CustomersClosed raised, the caller rolls back and runs again (its lookup then sees the close).
- Idempotency: each entry carries a unique idempotency key and a request fingerprint chosen by the
  caller from what the entry is (bulk rating: ``xdrs:<first xDR id>:<customer>``; the invoice run:
  ``invoice:<number>:tax``). A duplicate key fails the caller's whole transaction on the unique index
  (IntegrityError), nothing is replayed: a retry of committed work never reaches here, the callers'
  own rows tell it is done (an xDR's unique external id per source; an invoice's schedule moved on).
- Audit: every bulk charge has its "ledger.charge" event, written with it (``Charges.write``), with
  what ``post_entry`` records plus the caller's own members. An invoice's tax entry is recorded by
  that invoice's "invoice.issued" event (the invoice run writes it), not by an event of its own.
- Ids are reserved ahead (``reserve_charge_ids``) when the caller's rows point at an entry before
  it is written (an xDR's ledger_entry_id); ids may have holes, never duplicates.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from tripleplay.audit.services import EventRow, insert_events, reserve_event_ids
from tripleplay.core.actors import Actor
from tripleplay.core.bulk import (
    INT8,
    JSONB,
    TEXT,
    TIMESTAMPTZ,
    batches,
    insert_rows,
    jsonb_text,
    reserve_ids,
    take_ids,
)
from tripleplay.core.errors import Conflict
from tripleplay.ledger.models import EntryKind, Funds, LedgerEntry

_ENTRIES = LedgerEntry._meta.db_table
_FUNDS = Funds._meta.db_table

# The entry row as the bulk charges give it, column -> PostgreSQL type (binary COPY); data as JSON text.
ENTRY_COLUMNS = {"id": INT8, "actor_kind": TEXT, "actor_ref": TEXT, "actor_name": TEXT, "customer_id": INT8,
                 "account_id": INT8, "kind": TEXT, "amount_minor": INT8, "currency": TEXT, "balance_after_minor": INT8,
                 "description": TEXT, "reason": TEXT, "source": TEXT, "reference": TEXT, "service_type": TEXT,
                 "idempotency_key": TEXT, "request_fingerprint": TEXT, "created_at": TIMESTAMPTZ, "data": JSONB}


class CustomersClosed(Exception):
    """Some customers of a ``debit`` are closed (nothing may be charged to them): the caller's
    transaction must roll back (the other rows were moved) and run again without them."""


class ChargeIds(NamedTuple):
    entries: list[int]
    events: list[int]


def reserve_charge_ids(n: int) -> ChargeIds:
    """Ids for ``n`` charges and their audit events, taken ahead (the rows are built before they are
    written, and written by COPY)."""
    return ChargeIds(reserve_ids(_ENTRIES, n), reserve_event_ids(n))


def debit(customers: list[int], amounts: list[int]) -> dict[int, int]:
    """Lower each customer's balance by its amount (``customers`` ascending, each once), unconditionally,
    except a closed customer's; returns customer -> balance after. The funds rows are locked in
    ascending customer order first. Raises CustomersClosed when any customer was closed."""
    not_closed = (f"NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = {_FUNDS}.customer_id"
                  " AND c.status = 'closed')")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"SELECT customer_id FROM {_FUNDS} WHERE customer_id = ANY(%s)"
                        " ORDER BY customer_id FOR UPDATE", [customers])
            cur.execute(f"UPDATE {_FUNDS} SET balance_minor = balance_minor - v.amount"
                        " FROM unnest(%s::bigint[], %s::bigint[]) AS v(customer, amount)"
                        f" WHERE {_FUNDS}.customer_id = v.customer AND {not_closed}"
                        f" RETURNING {_FUNDS}.customer_id, {_FUNDS}.balance_minor", [customers, amounts])
            balances = dict(cur.fetchall())
        else:
            cur.executemany(f"UPDATE {_FUNDS} SET balance_minor = balance_minor - %s WHERE customer_id = %s"
                            f" AND {not_closed}", list(zip(amounts, customers, strict=True)))
            if cur.rowcount != len(customers):  # sqlite3 sums executemany's row counts
                raise CustomersClosed("a customer was closed while its charges were computed")
            balances = {}
            for batch in batches(customers):
                balances.update(Funds.objects.filter(customer_id__in=batch).values_list("customer_id",
                                                                                        "balance_minor"))
    if len(balances) != len(customers):
        raise CustomersClosed("a customer was closed while its charges were computed")
    return balances


class PreparedEntry(NamedTuple):
    """A bulk charge's entry, all but its balance after (only the funds UPDATE knows it), and the
    text of its audit event's data around that balance."""
    customer_id: int
    head: tuple  # ENTRY_COLUMNS before balance_after_minor
    tail: tuple  # ENTRY_COLUMNS after it
    event_head: str  # the event's data up to the balance after
    event_tail: str  # and after it


class WriteSeconds(NamedTuple):
    entries: float
    events: float


class Charges:
    """The charges of one transaction, by one actor at one time: ``entry`` builds each row (pure: the
    bulk rating pipeline runs it in its second thread), ``write`` posts them once ``debit`` has moved
    the funds. ``json_text``: a JSON column's value from JSON text (a jsonb wrapper for COPY, the text
    itself for SQLite)."""

    def __init__(self, actor: Actor, now: datetime, json_text, source: str):
        self.actor_columns = (str(actor.kind), actor.ref, actor.name)
        self.now, self.json_text, self.source = now, json_text, source

    def entry(self, *, entry_id: int, customer_id: int, account_id: int | None, amount_minor: int, currency: str,
              description: str, service_type: str, idempotency_key: str, request_fingerprint: str, data_json: str,
              event_extra: str = "") -> PreparedEntry:
        """A charge of ``amount_minor`` (positive: lowers the balance). ``data_json``: the entry's data
        as JSON text; ``event_extra``: JSON members added to the audit event's data (', "xdrs": 3')."""
        head = (entry_id, *self.actor_columns, customer_id, account_id, EntryKind.CHARGE.value, -amount_minor,
                currency)
        tail = (description, "", self.source, "", service_type, idempotency_key, request_fingerprint, self.now,
                self.json_text(data_json))
        return PreparedEntry(customer_id, head, tail,
                             f'{{"customer": {customer_id}, "amount_minor": {-amount_minor},'
                             f' "currency": {json.dumps(currency)}, "balance_after_minor": ', f"{event_extra}}}")

    def write(self, entries: list[PreparedEntry], balances: dict[int, int], event_ids: list[int]) -> WriteSeconds:
        """The entries with their balances after (``debit``'s answer) and one "ledger.charge" event each
        (``event_ids``: from ``reserve_charge_ids``)."""
        if len(event_ids) < len(entries):
            raise RuntimeError("fewer audit event ids reserved than charges")
        now, text, actor = self.now, self.json_text, self.actor_columns
        rows = [(*e.head, balances[e.customer_id], *e.tail) for e in entries]
        events = [EventRow(event_id, *actor, now, "ledger.charge", "ledgerentry", str(e.head[0]),
                           text(f"{e.event_head}{balances[e.customer_id]}{e.event_tail}"))
                  for e, event_id in zip(entries, event_ids, strict=False)]
        t = time.perf_counter()
        insert_rows(_ENTRIES, ENTRY_COLUMNS, rows)
        t1 = time.perf_counter()
        insert_events(events)
        return WriteSeconds(t1 - t, time.perf_counter() - t1)


class Posting(NamedTuple):
    """One entry of ``post_entries``: its signed effect on the balance and what it says."""
    customer_id: int
    amount_minor: int  # signed: a charge lowers the balance (negative), a credit raises it
    currency: str
    description: str
    source: str
    reference: str
    idempotency_key: str
    request_fingerprint: str
    data: dict
    service_type: str = ""  # for invoice grouping (a bundle discount: its fee's service)


def post_entries(actor: Actor, now: datetime, postings: list[Posting]) -> list[int]:
    """Move each customer's balance by the sum of its postings (the caller holds its customer rows,
    locked in ascending order) in one UPDATE, the balances read back by RETURNING, and insert the
    entries (a charge, or a credit when the amount is positive), each with the balance after it in
    the order given. Returns the entry ids, in order. Unconditional and without a closed-customer
    check: the invoice run's tax on what was delivered and bundle discounts on what was invoiced."""
    if not postings:
        return []
    deltas: dict[int, int] = {}
    for p in postings:
        deltas[p.customer_id] = deltas.get(p.customer_id, 0) + p.amount_minor
    funds = connection.ops.quote_name(_FUNDS)
    balances = {}
    returning = f" RETURNING {funds}.customer_id, {funds}.balance_minor"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # two array parameters: no VALUES list for psycopg to parse
            cursor.execute(f"UPDATE {funds} SET balance_minor = balance_minor + v.delta"
                           f" FROM unnest(%s::bigint[], %s::bigint[]) AS v(cid, delta) WHERE {funds}.customer_id = v.cid"
                           + returning, [list(deltas), list(deltas.values())])
            balances.update(dict(cursor.fetchall()))
        else:
            moves = list(deltas.items())
            for start in range(0, len(moves), 5000):
                part = moves[start:start + 5000]
                values = ", ".join(["(%s, %s)"] * len(part))
                params = [x for move in part for x in move]
                cursor.execute(f"WITH v(cid, delta) AS (VALUES {values}) UPDATE {funds}"
                               f" SET balance_minor = balance_minor + v.delta FROM v WHERE {funds}.customer_id = v.cid"
                               + returning, params)
                balances.update(dict(cursor.fetchall()))
    if len(balances) != len(deltas):
        raise Conflict("a customer's funds row is missing", code="funds_missing")
    ids = take_ids(LedgerEntry, len(postings))
    actor_columns = (str(actor.kind), actor.ref, actor.name)
    charge, credit = str(EntryKind.CHARGE), str(EntryKind.CREDIT)
    running = {cid: balances[cid] - delta for cid, delta in deltas.items()}  # the balance before the first
    # Binary COPY with the columns' types (D262), as the bulk charges: text COPY made psycopg format
    # every value as text and PostgreSQL parse it back (the data as JSON text either way).
    json_text = jsonb_text if connection.vendor == "postgresql" else str
    rows = []
    for p, pk in zip(postings, ids, strict=True):
        running[p.customer_id] += p.amount_minor
        rows.append((pk, *actor_columns, p.customer_id, None, charge if p.amount_minor < 0 else credit,
                     p.amount_minor, p.currency, running[p.customer_id], p.description, "", p.source, p.reference,
                     p.service_type, p.idempotency_key, p.request_fingerprint, now, json_text(json.dumps(p.data))))
    insert_rows(_ENTRIES, ENTRY_COLUMNS, rows)
    return ids
