"""order.placed: a platform's TV-screen order was done; the event is written in the order's
transaction, once (a retry's replay emits nothing; a declined order neither)."""

from __future__ import annotations

from tripleplay.orders import services
from tripleplay.orders.tests.conftest import world  # noqa: F401 - fixture
from tripleplay.webhooks.tests.conftest import deliveries_of, events_of


def test_a_done_order_emits_order_placed_once(endpoint, world):  # noqa: F811
    wants, other = endpoint(["order.placed"]), endpoint(["invoice.paid"])
    rich, poor = world.viewer(2000), world.viewer(100, charged=False)
    declined = services.place_order(world.platform, transaction_id="d", subscriber=poor.ref, action="add",
                                    product="sports")
    assert declined["code"] == "insufficient_funds" and events_of("order.placed") == []
    for _ in range(2):
        answer = services.place_order(world.platform, transaction_id="t", subscriber=rich.ref, action="add",
                                      product="sports")
    [event] = events_of("order.placed")
    assert event.payload == {
        "order_id": answer["order_id"], "platform": "ordertv", "transaction_id": "t", "subscriber": rich.ref,
        "account_id": rich.account.pk, "customer_id": rich.customer.pk, "action": "add", "product": "sports",
        "plan": "sports-monthly", "amount_minor": 500, "currency": "USD", "placed_at": "2026-03-11T12:00:00Z"}
    assert deliveries_of(wants.endpoint) == [("order.placed", "pending")] and deliveries_of(other.endpoint) == []
