"""Hooks the orders app declares for the apps above it (tripleplay/core/hooks.py).

ORDER_PLACED runs inside the transaction of a TV-screen order that was done (not declined, not a
retry's replay): the webhooks app answers it with an ``order.placed`` event in its outbox, committed
with the order or not at all (docs/webhooks.md, docs/orders.md)."""

from __future__ import annotations

from tripleplay.core.hooks import Hook

ORDER_PLACED: Hook = Hook(
    "orders.ORDER_PLACED",
    doc="A TV-screen order was done (the TvOrder row, its answer set); in the order's transaction.",
)
