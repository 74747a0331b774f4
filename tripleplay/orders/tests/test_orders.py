"""Orders from the TV screen through the service (tripleplay.orders.services): exact amounts, rows,
outbox commands and answers; idempotency by transaction id; the operator's switch; another
platform's subscriber answered as an unknown one; the balance call."""

from __future__ import annotations

import pytest

from tripleplay.audit.models import AuditEvent
from tripleplay.customers.models import AccountProduct
from tripleplay.iptv.models import ProvisioningCommand, Subscriber
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.orders import services
from tripleplay.orders.decision import REFUSALS, Asked, Found, decide
from tripleplay.orders.models import TvOrder
from tripleplay.subscriptions.models import SubscriptionCharge


def order(world, viewer_ref: str, action: str, product: str, txn: str = "t1", platform=None, **kw):
    return services.place_order(platform or world.platform, transaction_id=txn, subscriber=viewer_ref, action=action,
                                product=product, **kw)


def active(account, code: str) -> bool:
    return AccountProduct.objects.filter(account=account, product__code=code, end_date__isnull=True).exists()


def test_add_charges_the_first_fee_and_provisions_the_package(world):
    v = world.viewer(2000)  # March's TV fee (15.00) charged on 1 March: 5.00 left
    assert funds_of(v.customer).available.minor == 500
    answer = order(world, v.ref, "add", "sports")
    assert dict(answer) == {
        "result": "done", "code": "ok", "message": services._DONE["add"], "transaction_id": "t1",
        "order_id": TvOrder.objects.get().pk, "subscriber": v.ref, "action": "add", "product": "sports",
        "plan": "sports-monthly", "amount_minor": 500, "currency": "USD", "balance_minor": 0, "available_minor": 0}
    assert answer.http_status == 200
    a = AccountProduct.objects.get(account=v.account, product__code="sports")
    assert (a.start_date.isoformat(), a.end_date) == ("2026-03-11", None)
    assert list(SubscriptionCharge.objects.filter(assignment=a).values_list("kind", "amount_minor")) == [("periodic", 500)]
    sub = Subscriber.objects.get(account=v.account)
    assert sorted(sub.desired_packages) == ["basic", "sports"]
    cmd = ProvisioningCommand.objects.filter(subscriber=sub).order_by("-id").first()
    assert (cmd.event, sorted(cmd.desired["packages"]), cmd.status) == (
        "Account/ProductAddon/Inserted", ["basic", "sports"], "pending")
    o = TvOrder.objects.get()
    assert (o.result, o.code, o.charged_minor, o.account_id, o.assignment_id) == ("done", "ok", 500, v.account.pk, a.pk)


def test_retries_change_nothing_and_another_body_is_a_conflict(world):
    v = world.viewer(3000)
    first = order(world, v.ref, "add", "sports", txn="same")
    entries = LedgerEntry.objects.filter(customer=v.customer).count()
    for _ in range(3):
        again = order(world, v.ref, "add", "sports", txn="same")
        assert (dict(again), again.http_status) == (dict(first), 200)
    assert LedgerEntry.objects.filter(customer=v.customer).count() == entries
    assert funds_of(v.customer).balance.minor == 3000 - 1500 - 500
    other = order(world, v.ref, "add", "movies", txn="same")
    assert other.http_status == 409
    assert (other["result"], other["code"], other["order_id"]) == ("error", "transaction_id_reused", first["order_id"])
    assert not active(v.account, "movies") and TvOrder.objects.count() == 1


def test_insufficient_funds_declines_changes_nothing_and_is_replayed(world):
    v = world.viewer(1999)  # 4.99 left after March's TV fee
    answer = order(world, v.ref, "add", "sports")
    assert (answer["result"], answer["code"], answer["available_minor"], answer["amount_minor"]) == (
        "declined", "insufficient_funds", 499, None)
    assert not active(v.account, "sports")
    assert not ProvisioningCommand.objects.filter(event="Account/ProductAddon/Inserted").exists()
    assert funds_of(v.customer).balance.minor == 499 == sum_of_entries(v.customer)
    record_payment(world.actor, v.customer, Money(100, "USD"), idempotency_key="top-up")
    assert dict(order(world, v.ref, "add", "sports")) == dict(answer)  # the same id: the same answer
    assert order(world, v.ref, "add", "sports", txn="t2")["result"] == "done"  # a new order now succeeds


def test_remove_ends_the_addon_today_and_credits_the_unused_days(world):
    v = world.viewer(2000, addons=[world.sports_plan])  # March: TV 15.00 and sports 5.00 charged
    assert funds_of(v.customer).balance.minor == 0
    answer = order(world, v.ref, "remove", "sports")
    # 21 of March's 31 days unused: 5.00 - round(5.00 x 10 / 31) = 5.00 - 1.61 = 3.39 back
    assert (answer["result"], answer["amount_minor"], answer["balance_minor"], answer["plan"]) == (
        "done", -339, 339, None)
    a = AccountProduct.objects.get(account=v.account, product__code="sports")
    assert a.end_date.isoformat() == "2026-03-11" and a.end_reason == "removed from the TV screen"
    assert sorted(Subscriber.objects.get(account=v.account).desired_packages) == ["basic"]
    assert ProvisioningCommand.objects.filter(event="Account/ProductAddon/Deleted").count() == 1
    again = order(world, v.ref, "remove", "sports", txn="t2")
    assert (again["result"], again["code"]) == ("declined", "not_subscribed")


def test_change_credits_the_old_main_product_and_charges_the_new_one(world):
    v = world.viewer(1500 + 984)
    answer = order(world, v.ref, "change", "tv-plus")
    # old: 15.00 - round(15.00 x 10 / 31) = 15.00 - 4.84 = 10.16 back; new: 20.00 from today
    assert (answer["result"], answer["amount_minor"], answer["available_minor"], answer["plan"]) == (
        "done", 2000 - 1016, 0, "tv-plus-monthly")
    assert active(v.account, "tv-plus") and not active(v.account, "tv")
    assert sorted(Subscriber.objects.get(account=v.account).desired_packages) == ["basic", "plus"]
    assert ProvisioningCommand.objects.filter(event="Account/Product/Changed").count() == 1
    assert funds_of(v.customer).balance.minor == 0 == sum_of_entries(v.customer)
    assert order(world, v.ref, "change", "tv-plus", txn="t2")["code"] == "no_change"


def test_change_short_of_funds_after_the_credit_changes_nothing(world):
    v = world.viewer(1500 + 983)
    answer = order(world, v.ref, "change", "tv-plus")
    assert (answer["result"], answer["code"]) == ("declined", "insufficient_funds")
    assert active(v.account, "tv") and not active(v.account, "tv-plus")
    assert SubscriptionCharge.objects.filter(customer=v.customer).count() == 1  # March's TV fee only
    assert funds_of(v.customer).balance.minor == 983


def test_the_operator_decides_what_may_be_ordered(world):
    v = world.viewer(5000)
    sports = world.sports_plan.product
    assert services.set_orderable(world.actor, world.platform, sports, False) is True
    assert services.set_orderable(world.actor, world.platform, sports, False) is False
    answer = order(world, v.ref, "add", "sports")
    assert (answer["result"], answer["code"]) == ("declined", "not_orderable")
    assert not active(v.account, "sports")
    assert services.set_orderable(world.actor, world.platform, sports, True) is True
    assert order(world, v.ref, "add", "sports", txn="t2")["result"] == "done"


def test_another_platforms_subscriber_is_answered_as_an_unknown_one(world):
    mine = world.viewer(5000)
    theirs = world.viewer(5000, other_platform=True)
    foreign = order(world, theirs.ref, "add", "sports", txn="a")
    unknown = order(world, "tp-999999", "add", "sports", txn="b")
    assert (foreign["result"], foreign["code"]) == ("declined", "unknown_subscriber")
    strip = lambda a: {k: v for k, v in a.items() if k not in ("subscriber", "transaction_id", "order_id", "message")}  # noqa: E731
    assert strip(foreign) == strip(unknown)
    assert foreign["message"].replace(theirs.ref, "X") == unknown["message"].replace("tp-999999", "X")
    assert not active(theirs.account, "sports") and funds_of(theirs.customer).balance.minor == 3500
    b_foreign = services.balance(world.platform, subscriber=theirs.ref)
    b_unknown = services.balance(world.platform, subscriber="tp-999999")
    assert (b_foreign.http_status, b_foreign["code"]) == (b_unknown.http_status, b_unknown["code"]) == (404,
                                                                                                       "unknown_subscriber")
    assert "balance_minor" not in b_foreign
    assert services.balance(world.platform, subscriber=mine.ref)["available_minor"] == 3500


def test_balance_shows_balance_available_and_held(world):
    v = world.viewer(2500)
    from tripleplay import clock
    from tripleplay.ledger.services import place_hold

    place_hold(world.actor, v.customer, Money(300, "USD"), idempotency_key="h1",
               expires_at=clock.now().replace(hour=23))
    answer = services.balance(world.platform, subscriber=v.ref)
    assert dict(answer) == {"result": "balance", "code": "ok", "message": "ok", "subscriber": v.ref, "currency": "USD",
                            "balance_minor": 1000, "available_minor": 700, "held_minor": 300, "customer_status": "active"}


def test_a_blocked_customer_cannot_order(world):
    from tripleplay.customers.services import change_customer_status

    v = world.viewer(5000)
    change_customer_status(world.actor, v.customer, "blocked", reason="test")
    answer = order(world, v.ref, "add", "sports")
    assert (answer["result"], answer["code"]) == ("declined", "customer_blocked")


@pytest.mark.parametrize("bad", [{"action": "buy"}, {"transaction_id": " "}, {"product": "x" * 101}])
def test_bad_input_is_refused_and_writes_nothing(world, bad):
    from tripleplay.core.errors import InvalidInput

    v = world.viewer(5000)
    fields = {"transaction_id": "t", "subscriber": v.ref, "action": "add", "product": "sports", **bad}
    with pytest.raises(InvalidInput):
        services.place_order(world.platform, **fields)
    assert TvOrder.objects.count() == 0


# -- the pure rule ---------------------------------------------------------------------------------------

OK = Found("active", "USD", "active", "addon", "USD", 1, "sports-monthly", True, "tv-monthly", False)
CASES = {
    "unknown_subscriber": (Asked("tp-1", "add", "sports", None), None),
    "unknown_product": (Asked("tp-1", "add", "nope", None), OK._replace(product_kind=None)),
    "unknown_plan": (Asked("tp-1", "add", "sports", "nope"), OK._replace(plan_code=None)),
    "plan_required": (Asked("tp-1", "add", "sports", None), OK._replace(plan_count=2, plan_code=None)),
    "not_orderable": (Asked("tp-1", "add", "sports", None), OK._replace(orderable=False)),
    "wrong_product_kind": (Asked("tp-1", "change", "sports", None), OK),
    "currency_mismatch": (Asked("tp-1", "add", "sports", None), OK._replace(product_currency="EUR")),
    "customer_closed": (Asked("tp-1", "add", "sports", None), OK._replace(customer_status="closed")),
    "customer_blocked": (Asked("tp-1", "add", "sports", None), OK._replace(customer_status="blocked")),
    "customer_suspended": (Asked("tp-1", "add", "sports", None), OK._replace(customer_status="suspended")),
    "account_closed": (Asked("tp-1", "add", "sports", None), OK._replace(account_status="closed")),
    "account_blocked": (Asked("tp-1", "add", "sports", None), OK._replace(account_status="blocked")),
    "account_suspended": (Asked("tp-1", "add", "sports", None), OK._replace(account_status="suspended")),
    "already_subscribed": (Asked("tp-1", "add", "sports", None), OK._replace(has_product=True)),
    "not_subscribed": (Asked("tp-1", "remove", "sports", None), OK),
    "no_change": (Asked("tp-1", "change", "tv", None), OK._replace(product_kind="main", plan_code="tv-monthly")),
}


def test_every_refusal_of_the_rule():
    assert list(CASES) == list(REFUSALS)
    for code, (asked, found) in CASES.items():
        assert decide(asked, found).refusal == code, code
    assert decide(Asked("tp-1", "add", "sports", None), OK).refusal is None
    assert decide(Asked("tp-1", "remove", "sports", None), OK._replace(has_product=True, plan_code=None)).refusal is None
    removal = OK._replace(has_product=True, plan_code="sports-monthly")
    assert decide(Asked("tp-1", "remove", "sports", "sports-monthly"), removal).refusal is None
    assert decide(Asked("tp-1", "remove", "sports", "sports-yearly"), removal).refusal == "unknown_plan"


def test_order_and_balance_calls_are_counted_by_result_with_latency(world, client):
    import re

    def value(body: str, sample: str) -> float:
        match = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    keys = {("order", r): f'tripleplay_order_decisions_total{{call="order",result="{r}"}}'
            for r in ("done", "declined", "error")}
    keys[("balance", "balance")] = 'tripleplay_order_decisions_total{call="balance",result="balance"}'
    keys[("order", "count")] = 'tripleplay_order_decision_seconds_count{call="order"}'
    before = client.get("/metrics").content.decode()
    v = world.viewer(2000)
    order(world, v.ref, "add", "sports", txn="m1")
    order(world, v.ref, "add", "movies", txn="m2")  # nothing left: declined
    with pytest.raises(Exception):  # noqa: B017 - a refused request counts as error
        order(world, v.ref, "buy", "movies", txn="m3")
    services.balance(world.platform, subscriber=v.ref)
    after = client.get("/metrics").content.decode()
    assert {k: value(after, s) - value(before, s) for k, s in keys.items()} == {
        ("order", "done"): 1, ("order", "declined"): 1, ("order", "error"): 1, ("balance", "balance"): 1,
        ("order", "count"): 3}


def test_an_order_is_recorded_as_the_platforms(world):
    v = world.viewer(2000)
    order(world, v.ref, "add", "sports")
    audit = AuditEvent.objects.get(action="order.add")
    assert (audit.object_id, audit.actor_kind, audit.actor_ref, audit.actor_name) == (
        str(TvOrder.objects.get().pk), "api_client", f"platform:{world.platform.pk}", f"platform {world.platform.code}")
