"""Money of a chunk: ONE ledger charge per (customer, chunk) for the sum of that customer's costs, the
funds rows locked in ascending customer order and lowered in one statement (their balances after read
back), the entries and their audit events. ``_Money`` is a part of ``chunk._Chunk``."""

from __future__ import annotations

import json
import time
from hashlib import sha256

from django.db import connection

from tripleplay.ledger.models import EntryKind, Funds
from tripleplay.rating import pricing
from tripleplay.rating.bulk.result import _Rec
from tripleplay.rating.bulk.sql import ENTRY_COLUMNS, EVENT_COLUMNS, _batches, _insert_rows, _reserve_ids
from tripleplay.rating.services import USAGE_SOURCE


class _Retry(Exception):
    """The chunk must run again (a customer was closed between the lookup and the funds UPDATE)."""


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


def _assign_entries(charges: list[tuple], entry_ids: list[int]) -> None:
    """Each record points at its customer's entry (``entry_ids``: one per charge, in order; more is fine)."""
    if len(entry_ids) < len(charges):
        raise RuntimeError("fewer ledger entry ids reserved than charges")
    for (_, _, mine), entry_id in zip(charges, entry_ids, strict=False):
        for r in mine:
            r.entry_id = entry_id


class _Money:
    """``_Chunk``'s ledger charges (a part of ``chunk._Chunk``: ``self`` is the chunk, with its ``actor``,
    ``source``, ``now``, ``pg``, ``json_text``, ``detail`` and ``result``)."""

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


_NAMES = {pricing.VOICE: "call(s)", pricing.DATA: "data session(s)", pricing.MESSAGING: "message record(s)"}
