"""Money of a chunk: ONE ledger charge per (customer, chunk) for the sum of that customer's costs,
posted through the ledger's set-based API (tripleplay.ledger.bulk: the funds rows locked in ascending
customer order and lowered in one statement, the entries and their audit events). What a charge says
(description, data, idempotency key) is rating's; the rows and tables are the ledger's.
``ChunkMoney`` is a part of ``chunk.Chunk``."""

from __future__ import annotations

import json
from hashlib import sha256
from typing import NamedTuple

from tripleplay.ledger import bulk as ledger
from tripleplay.rating import pricing
from tripleplay.rating.services import USAGE_SOURCE


class Retry(Exception):
    """The chunk must run again (a customer was closed between the lookup and the funds UPDATE)."""


class Charge(NamedTuple):
    """A customer's charge of the chunk: the sum of its records that cost something."""
    customer_id: int
    total: int
    recs: list


def group_charges(recs: list) -> list[Charge]:
    """The charge of every customer whose records of the chunk cost something, in ascending customer
    order (the order the funds rows are locked in)."""
    per_customer: dict[int, list] = {}
    for rec in recs:
        if rec.cost:
            mine = per_customer.get(rec.customer_id)
            if mine is None:
                per_customer[rec.customer_id] = [rec]
            else:
                mine.append(rec)
    return [Charge(c, sum(r.cost for r in per_customer[c]), per_customer[c]) for c in sorted(per_customer)]


def assign_entries(charges: list[Charge], entry_ids: list[int]) -> None:
    """Each record points at its customer's entry (``entry_ids``: one per charge, in order; more is fine)."""
    if len(entry_ids) < len(charges):
        raise RuntimeError("fewer ledger entry ids reserved than charges")
    for charge, entry_id in zip(charges, entry_ids, strict=False):
        for r in charge.recs:
            r.entry_id = entry_id


class ChunkMoney:
    """``Chunk``'s ledger charges (a part of ``chunk.Chunk``: ``self`` is the chunk, with its ``actor``,
    ``source``, ``now``, ``json_text``, ``detail`` and ``result``)."""

    def _post_charges(self, recs: list) -> None:
        """One charge per customer for its records of this chunk (``recs``: rated, ids assigned) that
        cost something, and its audit event (as ``ledger.services.post_entry`` writes them)."""
        charges = group_charges(recs)
        if not charges:
            return
        balances = self._debit(charges)
        ids = ledger.reserve_charge_ids(len(charges))
        assign_entries(charges, ids.entries)
        self._write_charges(self._charge_rows(charges), balances, ids.events)

    def _charge_rows(self, charges: list[Charge]) -> list[ledger.PreparedEntry]:
        """Per charge (entry ids assigned), its entry and audit event but the balances, which only the
        funds UPDATE knows (the pipeline builds these in its second thread)."""
        out = []
        source = json.dumps(self.source)
        book = ledger.Charges(self.actor, self.now, self.json_text, USAGE_SOURCE)
        for customer_id, total, mine in charges:
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
            out.append(book.entry(
                entry_id=mine[0].entry_id, customer_id=customer_id,
                account_id=next(iter(accounts)) if len(accounts) == 1 else None, amount_minor=total,
                currency=currency, description="Usage: " + ", ".join(f"{c} {_NAMES[k]}" for k, (c, _) in ordered),
                service_type=ordered[0][0] if len(ordered) == 1 else "", idempotency_key=f"xdrs:{first}:{customer_id}",
                # What this charge is (a retry of the same chunk would find its xDRs duplicate instead).
                request_fingerprint=sha256(
                    f"usage|{customer_id}|{-total}|{currency}|{first}|{last}|{len(mine)}".encode()).hexdigest(),
                # The entry's data as json.dumps would write it (service names are fixed words), built directly.
                data_json=(f'{{"source": {source}, "xdrs": {len(mine)}, "first_xdr": {first}, "last_xdr": {last}, '
                           '"services": {' + ", ".join(f'"{k}": {{"count": {c}, "cost_minor": {m}}}'
                                                        for k, (c, m) in ordered) + "}}"),
                event_extra=f', "xdrs": {len(mine)}'))
        return out

    def _write_charges(self, rows: list[ledger.PreparedEntry], balances: dict[int, int], event_ids: list[int]) -> None:
        """The entries (``_charge_rows``) with their balances after, and their audit events."""
        book = ledger.Charges(self.actor, self.now, self.json_text, USAGE_SOURCE)
        seconds = book.write(rows, balances, event_ids)
        self.detail["entry rows"], self.detail["event rows"] = seconds.entries, seconds.events
        self.result.entries = len(rows)

    def _debit(self, charges: list[Charge]) -> dict[int, int]:
        """Lower the balances (unconditionally: usage that happened is billed, as in the per-record
        path) except of closed customers (then the chunk runs again); returns customer -> balance after."""
        try:
            return ledger.debit([c.customer_id for c in charges], [c.total for c in charges])
        except ledger.CustomersClosed as closed:
            raise Retry(str(closed)) from closed


_NAMES = {pricing.VOICE: "call(s)", pricing.DATA: "data session(s)", pricing.MESSAGING: "message record(s)"}
