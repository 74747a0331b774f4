"""The collections policy: steps counted in days from an invoice's due date (pure parsing).

Configured by ``TRIPLEPLAY_COLLECTIONS_POLICY`` (settings), a comma-separated list of
``DAY:ACTION[:AMOUNT_MINOR]``, e.g. the default ``0:reminder,7:late_fee:500,14:suspend,30:block``:
on the due date a reminder, a week later a late fee of 5.00 (minor units of the customer's currency),
after two weeks suspension, after thirty days a block."""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = ("reminder", "late_fee", "suspend", "block")


@dataclass(frozen=True)
class Step:
    day: int
    action: str
    amount_minor: int = 0


def parse(text: str) -> list[Step]:
    steps = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        bits = part.split(":")
        try:
            day, action = int(bits[0]), bits[1]
            amount = int(bits[2]) if len(bits) > 2 else 0
        except (IndexError, ValueError):
            raise ValueError(f"collections step {part!r} is not DAY:ACTION[:AMOUNT_MINOR]") from None
        if action not in ACTIONS or day < 0 or amount < 0 or (action == "late_fee") != (amount > 0) or len(bits) > 3:
            raise ValueError(f"collections step {part!r}: action one of {ACTIONS}, day >= 0, "
                             "an amount (> 0 minor units) for late_fee only")
        steps.append(Step(day, action, amount))
    return sorted(steps, key=lambda s: (s.day, ACTIONS.index(s.action)))


def configured() -> list[Step]:
    from django.conf import settings

    return parse(settings.TRIPLEPLAY_COLLECTIONS_POLICY)
