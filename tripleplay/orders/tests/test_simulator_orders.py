"""Orders from the TV screen end to end with real processes: `tripleplay serve` on a temporary SQLite
home, two simulated platforms (MatrixStream calling the JSON order API, the generic XML one calling
the generic XML protocol 1.3), each configured with tripleplay's URL and its inbound token. An order
placed through a simulator reaches tripleplay over HTTP; the change comes back to the simulator only
through tripleplay's provisioning (a `tripleplay worker --until-idle` run), and is checked on the
simulator's own state. Funds are read back through the REST API with an admin token."""

from __future__ import annotations

import json
import uuid

import pytest

from tripleplay.core.testing import customer_funds, provision
from tripleplay.simulators.testing import SimulatorProcess, served_with_platforms

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_api_client
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.iptv.models import ChannelPackage, Subscriber
from tripleplay.iptv.packages import link_package
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.iptv.worker import RetryPolicy, Worker
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.orders.services import set_orderable

actor = Actor.system("test")
out = {"platforms": {}}
for kind, url, suffix in SIMS:
    p = create_platform(actor, code=kind.replace("_", "-"), name=kind, kind=kind, base_url=url, username="tripleplay",
                        secret="secret", timeout_seconds="5")
    cat = make_tv_catalog(actor, p, suffix=suffix)
    plus = create_product(actor, code=f"tv-plus{suffix}", name="TV Plus", kind="main", currency="USD", services=["iptv"])
    create_plan(actor, plus, code=f"tv-plus-monthly{suffix}", name="TV Plus monthly", periodic_fee_minor=2000)
    for ext in ("basic", "kids"):
        link_package(actor, ChannelPackage.objects.get(platform=p, external_id=ext), plus)
    for product in (cat.sports_plan.product, cat.movies_plan.product, plus):
        set_orderable(actor, p, product, True)
    subs = {}
    for who, funds in (("rich", 5000), ("retry", 5000), ("poor", 100), ("changer", 5000)):
        c = create_customer(actor, name=f"{kind} {who}", currency="USD", balance_model="prepaid")
        record_payment(actor, c, Money(funds, "USD"), idempotency_key=f"seed-{kind}-{who}")
        a = create_account(actor, c, main_plan=cat.tv_plan, login=f"{kind}-{who}")
        subs[who] = {"customer": c.pk, "subscriber": Subscriber.objects.get(account=a, platform=p).external_id}
    out["platforms"][kind] = {"token": issue_inbound_token(actor, p), "suffix": suffix, **subs}
Worker(threads=1, poll_seconds=0.05, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05)).run(
    until_idle=True, max_seconds=30)
out["admin_token"] = create_api_client(actor, name="orders-test", role="admin")[1]
print("SEED " + json.dumps(out))
"""

JSON_KIND, XML_KIND = "matrixstream", "generic_xml"
KINDS = [JSON_KIND, XML_KIND]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with served_with_platforms(tmp_path_factory.mktemp("orders_home"), KINDS, SEED) as w:
        yield w


def funds(world, customer_id: int) -> dict:
    return customer_funds(world["admin"], customer_id)


def packages(world, kind: str, subscriber: str) -> list[str]:
    return sorted(world["sims"][kind].subscribers()[subscriber]["packages"])


@pytest.mark.parametrize("kind", KINDS)
def test_add_then_remove_reaches_the_platform_through_provisioning(world, kind):
    sim, seed = world["sims"][kind], world["seed"]["platforms"][kind]
    who, sfx = seed["rich"], seed["suffix"]
    assert packages(world, kind, who["subscriber"]) == ["basic"]
    record = sim.order(subscriber=who["subscriber"], action="add", product=f"sports{sfx}")
    assert record["style"] == ("xml" if kind == XML_KIND else "json")
    answer = record["answer"]
    assert (record["http_status"], answer["result"], answer["code"], answer["amount_minor"], answer["currency"]) == (
        200, "done", "ok", 500, "USD"), json.dumps(record)
    assert (answer["balance_minor"], answer["available_minor"]) == (4500, 4500)
    assert packages(world, kind, who["subscriber"]) == ["basic"]  # nothing until provisioning tells the platform
    provision(world["env"])
    assert packages(world, kind, who["subscriber"]) == ["basic", "sports"]
    assert funds(world, who["customer"]) == {"balance": 4500, "held": 0, "available": 4500}

    removed = sim.order(subscriber=who["subscriber"], action="remove", product=f"sports{sfx}")
    assert (removed["answer"]["result"], removed["answer"]["amount_minor"]) == ("done", -500)  # the same day
    provision(world["env"])
    assert packages(world, kind, who["subscriber"]) == ["basic"]
    assert funds(world, who["customer"])["balance"] == 5000
    assert sim.state()["orders"][-1]["transaction_id"] == removed["transaction_id"]


@pytest.mark.parametrize("kind", KINDS)
def test_retries_are_answered_alike_and_charged_once_and_another_body_conflicts(world, kind):
    sim, seed = world["sims"][kind], world["seed"]["platforms"][kind]
    who, sfx = seed["retry"], seed["suffix"]
    txn = f"retry-{uuid.uuid4()}"
    first = sim.order(subscriber=who["subscriber"], action="add", product=f"movies{sfx}", transaction_id=txn, retries=3)
    assert first["answer"]["result"] == "done" and first["repeats_identical"] is True and len(first["repeats"]) == 3
    again = sim.order(subscriber=who["subscriber"], action="add", product=f"movies{sfx}", transaction_id=txn)
    assert (again["http_status"], again["answer"]) == (200, first["answer"])
    assert funds(world, who["customer"])["balance"] == 4500
    other = sim.order(subscriber=who["subscriber"], action="add", product=f"sports{sfx}", transaction_id=txn)
    assert (other["http_status"], other["answer"]["result"], other["answer"]["code"]) == (
        409, "error", "transaction_id_reused")
    provision(world["env"])
    assert packages(world, kind, who["subscriber"]) == ["basic", "movies"]
    assert funds(world, who["customer"])["balance"] == 4500


@pytest.mark.parametrize("kind", KINDS)
def test_insufficient_funds_is_declined_and_nothing_reaches_the_platform(world, kind):
    sim, seed = world["sims"][kind], world["seed"]["platforms"][kind]
    who = seed["poor"]
    record = sim.order(subscriber=who["subscriber"], action="add", product=f"sports{seed['suffix']}")
    assert (record["answer"]["result"], record["answer"]["code"], record["answer"]["available_minor"]) == (
        "declined", "insufficient_funds", 100)
    provision(world["env"])
    assert packages(world, kind, who["subscriber"]) == ["basic"]
    assert funds(world, who["customer"]) == {"balance": 100, "held": 0, "available": 100}


@pytest.mark.parametrize("kind", KINDS)
def test_main_product_change_from_the_tv_screen(world, kind):
    sim, seed = world["sims"][kind], world["seed"]["platforms"][kind]
    who, sfx = seed["changer"], seed["suffix"]
    record = sim.order(subscriber=who["subscriber"], action="change", product=f"tv-plus{sfx}")
    # Nothing of the old plan was charged yet (no charge run in this world): nothing to credit back.
    assert (record["answer"]["result"], record["answer"]["amount_minor"], record["answer"]["plan"]) == (
        "done", 2000, f"tv-plus-monthly{sfx}")
    provision(world["env"])
    assert packages(world, kind, who["subscriber"]) == ["basic", "kids"]
    assert funds(world, who["customer"])["balance"] == 3000


@pytest.mark.parametrize("kind", KINDS)
def test_balance_and_another_platforms_subscriber(world, kind):
    sim, seed = world["sims"][kind], world["seed"]["platforms"][kind]
    other_kind = XML_KIND if kind == JSON_KIND else JSON_KIND
    mine, theirs = seed["poor"], world["seed"]["platforms"][other_kind]["rich"]
    b = sim.balance(mine["subscriber"])
    assert (b["http_status"], b["answer"]["result"], b["answer"]["balance_minor"], b["answer"]["available_minor"]) == (
        200, "balance", 100, 100)
    foreign, unknown = sim.balance(theirs["subscriber"]), sim.balance("tp-no-such")
    assert foreign["http_status"] == unknown["http_status"] == 404
    assert foreign["answer"]["code"] == unknown["answer"]["code"] == "unknown_subscriber"
    before = funds(world, theirs["customer"])
    order = sim.order(subscriber=theirs["subscriber"], action="add", product=f"kids{seed['suffix']}")
    assert (order["answer"]["result"], order["answer"]["code"]) == ("declined", "unknown_subscriber")
    assert funds(world, theirs["customer"]) == before


def test_bad_order_commands_are_refused_by_the_simulator(world):
    control = world["sims"][JSON_KIND].control
    assert control.post("/orders/place", json={"action": "add", "product": "x"}).status_code == 400
    assert control.post("/orders/place", json={"subscriber": "tp-1", "action": "buy", "product": "x"}).status_code == 400
    assert control.post("/orders/balance", json={}).status_code == 400


def test_every_simulated_platform_can_order_in_its_own_style(world):
    """Each IPTV simulator kind, not only the two above, reaches tripleplay's order API over HTTP: here
    with the JSON platform's token, so every answer is that platform's (an unknown subscriber)."""
    from tripleplay.simulators.registry import simulators

    token = world["seed"]["platforms"][JSON_KIND]["token"]
    kinds = sorted(simulators())
    assert {"generic_xml", "matrixstream", "minerva", "ministra", "seachange", "telebreeze"} <= set(kinds)
    for kind in kinds:
        sim = world["sims"].get(kind) or SimulatorProcess(kind)
        started = kind not in world["sims"]
        try:
            if started:
                sim.start()
            style = sim.configure_tripleplay(world["url"], token)["style"]
            record = sim.order(subscriber="tp-nobody", action="add", product="sports-0", retries=1)
            assert (record["style"], record["http_status"], record["answer"]["code"]) == (
                style, 200, "unknown_subscriber"), kind
            assert record["repeats_identical"] is True
            assert sim.balance("tp-nobody")["http_status"] == 404
        finally:
            if started:
                sim.stop()
            else:
                sim.configure_tripleplay(world["url"], world["seed"]["platforms"][kind]["token"])
