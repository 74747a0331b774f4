"""Charging-session maths: pure functions, no database, no clock (docs/sessions.md).

A session is charged on its CUMULATIVE usage: after every report the session has cost exactly what
one xDR of that whole usage would cost under rating's rules (increments on the whole usage, free
units first, the connection fee once, one rounding: ``rating.pricing.usage_cost_minor``). Each
report charges the difference between that cumulative cost and what was charged before, so the sum
of a session's charges never depends on how often it reported, and a report repeated or replayed
(the same cumulative usage) charges nothing.

Units: the network speaks seconds (voice) and bytes (data); rating's base units are seconds and
kilobytes of 1,000 bytes (a partial kilobyte counts as one), ``base_units`` converts.
"""

from __future__ import annotations

from dataclasses import dataclass

from tripleplay.rating import pricing

WIRE_UNIT = {pricing.VOICE: "seconds", pricing.DATA: "bytes"}
SESSION_SERVICES = tuple(WIRE_UNIT)


def base_units(service_type: str, wire: int) -> int:
    """Wire units (seconds, bytes) to rating's base units (seconds, kilobytes rounded up)."""
    if service_type == pricing.DATA:
        return pricing.kilobytes(wire)
    return wire


def wire_units(service_type: str, base: int) -> int:
    """Base units back to wire units (a kilobyte is 1,000 bytes)."""
    return base * pricing.BYTES_PER_KB if service_type == pricing.DATA else base


@dataclass(frozen=True)
class Tariff:
    """What a session is priced with: the rate's terms at the session's start, and the currency's
    exponent and rounding mode (fixed for the session, as a rated xDR's are at its start)."""

    service_type: str
    terms: pricing.RateTerms
    exponent: int
    rounding: str

    @property
    def priced_unit(self) -> int:
        return pricing.PRICED_UNIT[self.service_type]

    def billed(self, used_base: int) -> int:
        return pricing.billable(used_base, self.terms.first_increment, self.terms.next_increment)

    def cost(self, billed: int, free: int) -> int:
        """The cumulative cost in minor units of ``billed`` base units of which ``free`` were free."""
        return pricing.usage_cost_minor(billed, free, self.terms, self.priced_unit, self.exponent, self.rounding)


@dataclass(frozen=True)
class Usage:
    """A session's charged state: base units used and billed, free units taken, money charged."""

    used: int = 0
    billed: int = 0
    free: int = 0
    charged_minor: int = 0


@dataclass(frozen=True)
class Charge:
    """What a report costs: the new state, and the units and money it adds."""

    after: Usage
    billed_delta: int
    free_delta: int
    amount_minor: int


def charge(tariff: Tariff, before: Usage, used: int, free_left: int) -> Charge:
    """Charge cumulative usage ``used`` (base units) after ``before``: increments on the whole usage,
    the newly billed units taken from ``free_left`` (allowances) first. A report below what was
    already reported (out of order, replayed) changes nothing."""
    used = max(used, before.used)
    billed = max(tariff.billed(used), before.billed)
    billed_delta = billed - before.billed
    free_delta = min(max(free_left, 0), billed_delta)
    free = before.free + free_delta
    cost = tariff.cost(billed, free)
    # Never negative: the cost is monotone in the charged units (billed - free), which only grow.
    amount = max(cost - before.charged_minor, 0)
    return Charge(Usage(used, billed, free, before.charged_minor + amount), billed_delta, free_delta, amount)


@dataclass(frozen=True)
class Grant:
    """Units the network may use beyond ``Usage.used`` and the money to reserve for them."""

    units: int
    reserve_minor: int


def grant(tariff: Tariff, state: Usage, want: int, free_left: int, available_minor: int) -> Grant:
    """The largest grant of at most ``want`` base units beyond ``state.used`` whose cost (after the
    free units left) the available funds cover, widened to the end of the increment it falls in
    (that increment is paid for anyway). Binary search: the cost is monotone in the units."""
    if want <= 0:
        return Grant(0, 0)

    def reserve(units: int) -> int:
        return charge(tariff, state, state.used + units, free_left).amount_minor

    available = max(available_minor, 0)
    if reserve(want) <= available:
        units = want
    else:
        lo, hi = 0, want  # reserve(lo) fits, reserve(hi) does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if reserve(mid) <= available:
                lo = mid
            else:
                hi = mid
        units = lo
    if units == 0:
        return Grant(0, 0)
    billed_to = max(tariff.billed(state.used + units), state.billed)
    units = max(units, billed_to - state.used)
    return Grant(units, reserve(units))


MAX_WINDOW_STEPS = 256  # a fast window's steps at most (one per increment: the array stays small)


@dataclass(frozen=True)
class Step:
    """One increment of a fast window: up to ``limit_wire`` cumulative wire units the session is
    billed ``billed`` base units and has cost ``charged_minor`` in all."""

    limit_wire: int
    billed: int
    charged_minor: int


def window(tariff: Tariff, state: Usage, granted: int, max_steps: int = MAX_WINDOW_STEPS) -> list[Step]:
    """The fast window (D280) after ``state``: for each increment from the one already billed up to
    the grant ``granted`` (base units), the cumulative charge ``charge()`` gives any usage inside it,
    with no free units (a window is opened only when none are left). At most ``max_steps`` steps; the
    last ends one wire unit short of the grant: a report that reaches the grant is the Python path's,
    which reserves the next quota or, when the funds cover none, ends the session (as it would
    without a window). Usage above the last step's limit is not the window's."""
    steps: list[Step] = []
    billed, last = state.billed, -1
    below_grant = wire_units(tariff.service_type, granted) - 1
    # charge(tariff, state, upto, 0) inlined (a start computes up to 256 steps, D298): with no free
    # units left to take and ``upto`` at least ``state.used``, its new state is billed the greater of
    # the increments' and ``state.billed``, and charged the greater of that cost and what was charged.
    # The same pricing functions as Tariff.billed and Tariff.cost, called without their wrappers.
    terms, free, wire = tariff.terms, state.free, wire_units(tariff.service_type, 1)
    first, following = terms.first_increment, terms.next_increment
    priced_unit, exponent, rounding = tariff.priced_unit, tariff.exponent, tariff.rounding
    billable, usage_cost_minor = pricing.billable, pricing.usage_cost_minor
    while len(steps) < max_steps:
        upto = min(max(billed, state.used), granted)  # the most usage billed ``billed`` units
        if upto < state.used or upto <= last:
            break
        after_billed = max(billable(upto, first, following), state.billed)
        charged = max(usage_cost_minor(after_billed, free, terms, priced_unit, exponent, rounding), state.charged_minor)
        limit = min(upto * wire, below_grant)
        if steps and limit <= steps[-1].limit_wire:
            break
        steps.append(Step(limit, after_billed, charged))
        if upto >= granted:
            break
        last, billed = upto, billable(upto + 1, first, following)
    return steps
