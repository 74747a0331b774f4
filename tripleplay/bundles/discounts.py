"""Bundle discounts, pure: for one customer, the discount each bundle rule gives each recurring fee
on an invoice, from the products (and so the service types) the customer had day by day
(docs/charging.md "Bundle discounts", D139-D142). No database.

A rule has tiers, best first: a tier holds on a day when the customer has at least ``at_least`` of
its service types that day (``at_least`` = all of them: "TV + internet + voice"; 2 of 3: "any two").
On each day of a fee's service the first tier that holds gives that day's share of the discount: a
percentage of the fee, or a fixed amount per fee period. The days counted are the fee's own days of
service that its product was really on the account and the rule was in force; the denominator is
the fee's days of service. So a product that joins or leaves mid-period prorates the discount,
rounded once per fee, explicitly (tripleplay.money rounding mode), and capped so the fee, less what
earlier rules took off it, never goes below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tripleplay.money import rounding_mode

BASIS_POINTS = 10_000  # 100 % in basis points: 20 % is 2000


@dataclass(frozen=True)
class Tier:
    services: frozenset[str]
    at_least: int
    percent_bp: int = 0  # basis points of the fee (2000 = 20 %)
    amount_minor: int = 0  # or a fixed amount off the fee, per whole fee period

    def holds(self, have: frozenset[str]) -> bool:
        return len(self.services & have) >= self.at_least


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    tiers: tuple[Tier, ...]
    fee_service_types: frozenset[str]  # fees of these service types are discounted
    fee_products: frozenset[str]  # and fees of these product codes
    currency: str  # of the fixed amounts ("" when every tier is a percentage)
    active_from: date
    active_until: date | None  # exclusive

    def discounts_fee(self, fee: Fee) -> bool:
        if fee.service_type not in self.fee_service_types and fee.product not in self.fee_products:
            return False
        return not any(t.amount_minor for t in self.tiers) or fee.currency == self.currency


@dataclass(frozen=True)
class Holding:
    """A product on one of the customer's accounts from ``start`` to ``end`` (exclusive; None: current)."""
    assignment: int
    product: str
    services: frozenset[str]
    start: date
    end: date | None


@dataclass(frozen=True)
class Fee:
    """A recurring fee charged (an invoice's subscription entry): ``amount_minor`` > 0 for the days of
    service ``start``..``end`` (exclusive) of ``assignment``."""
    entry_id: int
    assignment: int
    product: str
    service_type: str
    currency: str
    amount_minor: int
    start: date
    end: date


@dataclass(frozen=True)
class Discount:
    rule: Rule
    fee: Fee
    amount_minor: int  # > 0: what comes off the fee
    held_days: int  # days of the fee on which a tier held
    of_days: int  # the fee's days of service


def _segments(holdings: list[Holding], lo: date, hi: date) -> list[tuple[date, date, frozenset[str]]]:
    """[lo, hi) cut where the set of service types changes: (start, end, service types that day)."""
    cuts = {lo, hi}
    for h in holdings:
        for d in (h.start, h.end):
            if d is not None and lo < d < hi:
                cuts.add(d)
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:], strict=False):
        have = frozenset().union(*(h.services for h in holdings if h.start <= a and (h.end is None or a < h.end)))
        out.append((a, b, have))
    return out


def fee_discount(rule: Rule, fee: Fee, holdings: list[Holding], left_minor: int, rounding: str,
                 cache: dict | None = None) -> Discount | None:
    """What ``rule`` takes off ``fee`` (at most ``left_minor``, what earlier rules left of it), or None.
    ``cache``: the customer's segments by window, shared by its fees (they mostly share one window)."""
    of_days = (fee.end - fee.start).days
    if of_days <= 0 or left_minor <= 0 or not rule.discounts_fee(fee):
        return None
    own = next((h for h in holdings if h.assignment == fee.assignment), None)
    lo, hi = max(fee.start, rule.active_from), fee.end
    if rule.active_until is not None:
        hi = min(hi, rule.active_until)
    if own is not None:  # only the days its product was on the account (an upgrade ends it mid-period)
        lo, hi = max(lo, own.start), hi if own.end is None else min(hi, own.end)
    if lo >= hi:
        return None
    held = percent_days = fixed_days = 0
    segments = cache.get((lo, hi)) if cache is not None else None
    if segments is None:
        segments = _segments(holdings, lo, hi)
        if cache is not None:
            cache[(lo, hi)] = segments
    for a, b, have in segments:
        tier = next((t for t in rule.tiers if t.holds(have)), None)
        if tier is None:
            continue
        days = (b - a).days
        held += days
        percent_days += tier.percent_bp * days
        fixed_days += tier.amount_minor * days
    if not held:
        return None
    exact = (Decimal(fee.amount_minor) * percent_days + Decimal(BASIS_POINTS) * fixed_days) / (BASIS_POINTS * of_days)
    amount = min(int(exact.quantize(Decimal(1), rounding=rounding_mode(rounding))), left_minor)
    return Discount(rule, fee, amount, held, of_days) if amount > 0 else None


def discounts(rules: list[Rule], fees: list[Fee], holdings: list[Holding], rounding: str) -> list[Discount]:
    """Every rule's discount on every fee of one customer, rules in order: each takes at most what the
    earlier ones left of the fee, so no fee line goes below zero."""
    out = []
    cache: dict = {}
    for fee in sorted(fees, key=lambda f: f.entry_id):
        left = fee.amount_minor
        for rule in rules:
            d = fee_discount(rule, fee, holdings, left, rounding, cache)
            if d is not None:
                out.append(d)
                left -= d.amount_minor
    return out
