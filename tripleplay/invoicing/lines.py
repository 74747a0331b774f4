"""From ledger entries to invoice lines: pure functions, no database.

Which section an entry goes to (docs/invoicing.md):
- subscription fees and their credits (source ``subscription``): one line each, grouped by service
  (IPTV, internet, voice, messaging), with the fee's period;
- usage (source ``usage``): summarized, one line per service with the number of records (the xDRs are
  listed in the invoice's annex);
- pay-per-view (source ``ppv``): one line per purchase;
- other charges: one-off charges; credits; adjustments (manual debits and corrections);
- payments and refunds: the payments section (no tax).
Every line except payments is taxed (tripleplay.invoicing.tax).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import attrgetter

from tripleplay.invoicing.tax import line_tax

SECTION_ORDER = ("subscriptions", "usage", "ppv", "one_off", "credits", "adjustments", "payments")
SERVICE_ORDER = ("iptv", "data", "voice", "messaging", "ppv", "")
SERVICE_NAMES = {"iptv": "IPTV", "data": "Internet", "voice": "Voice", "messaging": "Messaging", "ppv": "Pay-per-view",
                 "": "Other"}
_SECTION_RANK = {section: i for i, section in enumerate(SECTION_ORDER)}
_SERVICE_RANK = {service: i for i, service in enumerate(SERVICE_ORDER)}
_USAGE_UNITS = {"voice": ("call", "calls"), "data": ("session", "sessions"), "messaging": ("message", "messages")}


@dataclass
class EntryRow:
    """The fields of a LedgerEntry that invoicing reads."""

    id: int
    kind: str
    amount_minor: int
    source: str
    service_type: str
    description: str
    data: dict = field(default_factory=dict)


@dataclass
class Line:
    section: str
    service_type: str
    description: str
    amount_minor: int  # owed direction: charges +, credits and payments -
    quantity: int = 1
    tax_minor: int = 0
    period_start: date | None = None
    period_end: date | None = None
    entry_ids: list[int] = field(default_factory=list)

    @property
    def taxable(self) -> bool:
        return self.section != "payments"


def section_of(e: EntryRow) -> str:
    if e.kind in ("payment", "refund"):
        return "payments"
    if e.source in ("subscription", "bundle"):  # a bundle discount sits beside the fees it discounts
        return "subscriptions"
    if e.source == "usage":
        return "usage"
    if e.source == "ppv" or (e.kind == "charge" and e.service_type == "ppv"):
        return "ppv"
    if e.kind == "credit":
        return "credits"
    if e.kind == "adjustment":
        return "adjustments"
    return "one_off"


def _period(data: dict) -> tuple[date | None, date | None]:
    try:
        return date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_end"])
    except (KeyError, TypeError, ValueError):
        return None, None


_entry_id = attrgetter("id")


def build_lines(entries: list[EntryRow], tax_rate: Decimal, currency: str, rounding: str) -> list[Line]:
    """The invoice's lines, in print order, each taxable line with its own rounded tax."""
    lines: list[Line] = []
    usage: dict[str, Line] = {}
    for e in sorted(entries, key=_entry_id):
        section = section_of(e)
        owed = -e.amount_minor
        if section == "usage":
            # A per-record charge is one xDR of its service; a bulk-rated chunk's charge covers several
            # xDRs, possibly of several services, and says how many and how much of each in its data.
            split = (e.data or {}).get("services")
            parts = ([(service, s["cost_minor"], s["count"]) for service, s in sorted(split.items())]
                     if isinstance(split, dict) and split else [(e.service_type, owed, 1)])
            if isinstance(split, dict) and split and sum(cost for _, cost, _ in parts) != owed:
                raise ValueError(f"usage entry {e.id}: its services add up to {sum(c for _, c, _ in parts)}, not {owed}")
            for service, cost, count in parts:
                line = usage.get(service)
                if line is None:
                    line = usage[service] = Line(section, service, "", 0, quantity=0)
                    lines.append(line)
                line.amount_minor += cost
                line.quantity += count
                line.entry_ids.append(e.id)
            continue
        start, end = _period(e.data) if section == "subscriptions" else (None, None)
        lines.append(Line(section, e.service_type if section != "payments" else "", e.description, owed,
                          period_start=start, period_end=end, entry_ids=[e.id]))
    for service, line in usage.items():
        one, many = _USAGE_UNITS.get(service, ("record", "records"))
        unit = one if line.quantity == 1 else many
        line.description = f"{SERVICE_NAMES.get(service, service)} usage: {line.quantity} {unit}"
    lines.sort(key=_print_order)
    for line in lines:
        if line.taxable:
            line.tax_minor = line_tax(line.amount_minor, tax_rate, currency, rounding)
    return lines


def _print_order(ln: Line) -> tuple[int, int, int]:
    """Section, then (subscriptions and usage) service, then the first entry."""
    service = _SERVICE_RANK.get(ln.service_type, 0) if ln.section in ("subscriptions", "usage") else 0
    return _SECTION_RANK[ln.section], service, ln.entry_ids[0]


@dataclass(frozen=True)
class Totals:
    payments_minor: int  # received (payments less refunds), positive
    subtotal_minor: int
    tax_minor: int

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.tax_minor


def totals(lines: list[Line]) -> Totals:
    return Totals(
        payments_minor=-sum(ln.amount_minor for ln in lines if not ln.taxable),
        subtotal_minor=sum(ln.amount_minor for ln in lines if ln.taxable),
        tax_minor=sum(ln.tax_minor for ln in lines if ln.taxable),
    )
