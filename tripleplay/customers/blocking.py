"""A customer's effective status from the holds its sources keep on it (Kill Bill's blocking states).

Each source (operator, collections, prepaid funds, later the network) holds the customer with its
own effect or not at all; the status follows from all of them: closed is final, then any block
wins, then any suspension, else active. Lifting one source's hold leaves the customer suspended or
blocked while another still holds it. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from tripleplay.customers.models import TRANSITIONS, BlockEffect, BlockSource, Status


class Hold(Protocol):
    """What the rules read of a hold (a CustomerBlock row has these)."""

    source: str
    effect: str
    reason: str


# The operator's "active" lifts its own hold and collections' (reconnecting after collections' block
# is an operator's decision, D25; lifting its suspension early is a reprieve). Prepaid funds are
# lifted by money (a payment or credit, then the charge), never by a status change.
LIFTED_BY_OPERATOR = frozenset({BlockSource.OPERATOR, BlockSource.COLLECTIONS})


_STATUS_OF_EFFECT = {BlockEffect.BLOCK: Status.BLOCKED, BlockEffect.SUSPEND: Status.SUSPENDED}
_EFFECTS_BY_STRENGTH = (BlockEffect.BLOCK, BlockEffect.SUSPEND)


def effective_status(holds: Iterable[Hold], closed: bool) -> str:
    """closed > blocked (any source blocks) > suspended (any source suspends) > active."""
    if closed:
        return Status.CLOSED
    effects = {h.effect for h in holds}
    for effect in _EFFECTS_BY_STRENGTH:
        if effect in effects:
            return _STATUS_OF_EFFECT[effect]
    return Status.ACTIVE


def deciding_hold(holds: Sequence[Hold]) -> Hold | None:
    """The hold that explains the effective status (its reason is the status reason people see):
    the first placed of the strongest effect, the one that put the customer in that status; None
    when nothing holds it. ``holds`` in the order they were placed."""
    for effect in _EFFECTS_BY_STRENGTH:
        for h in holds:
            if h.effect == effect:
                return h
    return None


def lifted_by_operator(holds: Iterable[Hold]) -> list[Hold]:
    """The holds an operator's "active" ends."""
    return [h for h in holds if h.source in LIFTED_BY_OPERATOR]


def operator_choices(status: str, holds: Sequence[Hold]) -> list[str]:
    """The statuses an operator may ask for (API, web UI): the transitions from ``status``, without
    "active" while only sources an operator does not lift (prepaid funds) hold the customer."""
    choices = set(TRANSITIONS[status])
    if Status.ACTIVE in choices and not lifted_by_operator(holds):
        choices.discard(Status.ACTIVE)
    return sorted(choices)
