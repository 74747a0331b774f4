"""The simulators as the platform's side of pay-per-view, end to end with real processes:
`tripleplay serve` (gunicorn) on a temporary SQLite home, two simulated platforms (one calling the
JSON PPV API, one the XML one) configured with tripleplay's URL and their inbound tokens. Buying
through a simulator reaches tripleplay over HTTP; the customer's funds are read back through the
REST API with an admin token."""

from __future__ import annotations

import importlib.util
import json
import uuid

import pytest

from tripleplay.core.testing import customer_funds
from tripleplay.simulators.testing import served_with_platforms

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_api_client
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay import clock
from tripleplay.iptv.models import PpvEvent, Subscriber
from tripleplay.simulators.base import DEFAULT_PPV_EVENTS
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.iptv.worker import RetryPolicy, Worker
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money

actor = Actor.system("test")
ppv = create_product(actor, code="ppv", name="Pay-per-view", kind="addon", currency="USD", services=["ppv"])
ppv_plan = create_plan(actor, ppv, code="ppv-free", name="PPV enabled", periodic_fee_minor=0)
out = {"platforms": {}}
for kind, url, suffix in SIMS:
    p = create_platform(actor, code=kind.replace("_", "-"), name=kind, kind=kind, base_url=url, username="tripleplay",
                        secret="secret", timeout_seconds="5")
    cat = make_tv_catalog(actor, p, suffix=suffix)
    for e in DEFAULT_PPV_EVENTS:  # imported already where the adapter lists PPV events
        PpvEvent.objects.get_or_create(platform=p, external_id=e["external_id"], defaults={
            "title": e["title"], "price_minor": e["price_minor"], "currency": e["currency"],
            "content_owner": e["content_owner"], "first_seen_at": clock.now(), "updated_at": clock.now()})
    subs = {}
    for who, funds in (("rich", 5000), ("poor", 100)):
        c = create_customer(actor, name=f"{kind} {who}", currency="USD", balance_model="prepaid")
        record_payment(actor, c, Money(funds, "USD"), idempotency_key=f"seed-{kind}-{who}")
        a = create_account(actor, c, main_plan=cat.tv_plan, addon_plans=[ppv_plan], login=f"{kind}-{who}")
        subs[who] = {"customer": c.pk, "subscriber": Subscriber.objects.get(account=a, platform=p).external_id}
    out["platforms"][kind] = {"token": issue_inbound_token(actor, p), **subs}
Worker(threads=1, poll_seconds=0.05, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05)).run(
    until_idle=True, max_seconds=30)
out["admin_token"] = create_api_client(actor, name="ppv-test", role="admin")[1]
print("SEED " + json.dumps(out))
"""

JSON_KIND, XML_KIND = "matrixstream", "generic_xml"
HAS_XML = importlib.util.find_spec("tripleplay.ppv.xmlproto") is not None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with served_with_platforms(tmp_path_factory.mktemp("ppv_home"), (JSON_KIND, XML_KIND), SEED) as w:
        yield w


def funds(world, customer_id: int) -> dict:
    return customer_funds(world["admin"], customer_id)


PLATFORMS = [JSON_KIND, pytest.param(XML_KIND, marks=pytest.mark.skipif(
    not HAS_XML, reason="tripleplay.ppv.xmlproto (the XML PPV protocol) is not there yet"))]


def test_each_simulator_calls_its_own_style_of_the_api(world):
    assert world["sims"][JSON_KIND].control.get("/tripleplay").json() == {
        "url": world["url"], "style": "json", "token_set": True}
    assert world["sims"][XML_KIND].control.get("/tripleplay").json()["style"] == "xml"


@pytest.mark.parametrize("kind", PLATFORMS)
def test_two_step_buy_is_approved_confirmed_charged_and_entitles(world, kind):
    sim, who = world["sims"][kind], world["seed"]["platforms"][kind]["rich"]
    before = funds(world, who["customer"])
    record = sim.buy(subscriber=who["subscriber"], event_id="fight-night")

    assert record["http_status"] == {"authorize": 200, "confirm": 200}, json.dumps(record)
    assert record["style"] == ("xml" if kind == XML_KIND else "json")
    auth, conf = record["authorize"], record["confirm"]
    assert (auth["result"], auth["code"], auth["amount_minor"], auth["currency"]) == ("approved", "ok", 1999, "USD")
    assert auth["available_minor"] == before["available"] - 1999 and auth["expires_at"]
    assert (conf["result"], conf["amount_minor"], conf["authorization_id"]) == ("confirmed", 1999,
                                                                                 auth["authorization_id"])
    assert conf["transaction_id"] == record["transaction_id"]
    assert record["entitled"] is True
    assert funds(world, who["customer"]) == {"balance": before["balance"] - 1999, "held": 0,
                                             "available": before["available"] - 1999}
    state = sim.state()
    assert "fight-night" in state["subscribers"][who["subscriber"]]["ppv"]
    assert state["ppv_purchases"][-1]["transaction_id"] == record["transaction_id"]


@pytest.mark.parametrize("kind", PLATFORMS)
def test_retries_with_the_same_transaction_id_change_nothing(world, kind):
    sim, who = world["sims"][kind], world["seed"]["platforms"][kind]["rich"]
    before = funds(world, who["customer"])
    txn = f"retry-{uuid.uuid4()}"
    first = sim.buy(subscriber=who["subscriber"], event_id="premiere-42", transaction_id=txn, retries=2)
    assert first["confirm"]["result"] == "confirmed"
    assert first["repeats_identical"] is True
    assert [r["answer"]["result"] for r in first["repeats"]["authorize"]] == ["approved", "approved"]
    assert [r["answer"]["result"] for r in first["repeats"]["confirm"]] == ["confirmed", "confirmed"]
    # The whole purchase again, as a platform that lost every answer would send it.
    again = sim.buy(subscriber=who["subscriber"], event_id="premiere-42", transaction_id=txn)
    assert (again["authorize"], again["confirm"]) == (first["authorize"], first["confirm"])
    after = funds(world, who["customer"])
    assert after == {"balance": before["balance"] - 599, "held": 0, "available": before["available"] - 599}
    assert sim.subscribers()[who["subscriber"]]["ppv"].count("premiere-42") == 1


@pytest.mark.parametrize("kind", PLATFORMS)
def test_insufficient_funds_is_declined_and_does_not_entitle(world, kind):
    sim, who = world["sims"][kind], world["seed"]["platforms"][kind]["poor"]
    before = funds(world, who["customer"])
    record = sim.buy(subscriber=who["subscriber"], event_id="fight-night")
    assert record["http_status"] == {"authorize": 200}  # declined: the platform does not confirm
    assert (record["authorize"]["result"], record["authorize"]["code"]) == ("declined", "insufficient_funds")
    assert "confirm" not in record and record["entitled"] is False
    assert funds(world, who["customer"]) == before
    assert "ppv" not in sim.subscribers()[who["subscriber"]]


@pytest.mark.parametrize("kind", PLATFORMS)
def test_cancel_releases_the_hold(world, kind):
    sim, who = world["sims"][kind], world["seed"]["platforms"][kind]["rich"]
    before = funds(world, who["customer"])
    txn = f"cancel-{uuid.uuid4()}"
    held = sim.buy(subscriber=who["subscriber"], price_minor=250, transaction_id=txn, mode="authorize_only")
    assert held["authorize"]["result"] == "approved" and "confirm" not in held and held["entitled"] is False
    assert funds(world, who["customer"]) == {**before, "held": 250, "available": before["available"] - 250}

    cancelled = sim.buy(subscriber=who["subscriber"], price_minor=250, transaction_id=txn, mode="cancel", retries=1)
    assert cancelled["authorize"] == held["authorize"]  # the authorization replayed, not a second hold
    assert (cancelled["cancel"]["result"], cancelled["http_status"]["cancel"]) == ("cancelled", 200)
    assert cancelled["repeats"]["cancel"][0]["answer"] == cancelled["cancel"] and cancelled["entitled"] is False
    assert funds(world, who["customer"]) == before

    late = sim.buy(subscriber=who["subscriber"], price_minor=250, transaction_id=txn)  # confirm after cancel
    assert (late["http_status"]["confirm"], late["confirm"]["code"]) == (409, "authorization_cancelled")
    assert late["entitled"] is False and funds(world, who["customer"]) == before


def test_one_call_purchase(world):
    sim, who = world["sims"][JSON_KIND], world["seed"]["platforms"][JSON_KIND]["rich"]
    before = funds(world, who["customer"])
    record = sim.buy(subscriber=who["subscriber"], price_minor=100, mode="purchase")
    assert (record["http_status"], record["purchase"]["result"]) == ({"purchase": 200}, "confirmed")
    assert record["entitled"] is True
    assert funds(world, who["customer"])["balance"] == before["balance"] - 100


@pytest.mark.parametrize("kind", PLATFORMS)
def test_another_platforms_token_or_a_wrong_one_buys_nothing(world, kind):
    sim, who = world["sims"][kind], world["seed"]["platforms"][kind]["rich"]
    other = world["seed"]["platforms"][XML_KIND if kind == JSON_KIND else JSON_KIND]["token"]
    before = funds(world, who["customer"])
    sim.configure_tripleplay(world["url"], other)  # this subscriber is not the other platform's
    try:
        foreign = sim.buy(subscriber=who["subscriber"], event_id="fight-night")
        assert (foreign["authorize"]["result"], foreign["authorize"]["code"]) == ("declined", "unknown_subscriber")
        sim.configure_tripleplay(world["url"], "tpp_not-a-token")
        refused = sim.buy(subscriber=who["subscriber"], event_id="fight-night")
        assert refused["http_status"] == {"authorize": 401}
        # As tripleplay answered: the JSON API's error shape, or the XML protocol's error document.
        assert (refused["authorize"]["error"]["code"] if kind == JSON_KIND else refused["authorize"]["code"]) in (
            "unauthenticated", "AUTHENTICATION_FAILED")
        assert refused["entitled"] is False
    finally:
        sim.configure_tripleplay(world["url"], world["seed"]["platforms"][kind]["token"])
    assert funds(world, who["customer"]) == before


def test_bad_orders_and_configuration_are_refused(world):
    control = world["sims"][JSON_KIND].control
    assert control.post("/ppv/buy", json={"event_id": "x"}).status_code == 400
    assert control.post("/ppv/buy", json={"subscriber": "tp-1", "event_id": "x", "mode": "twice"}).status_code == 400
    assert control.post("/ppv/buy", json={"subscriber": "tp-1", "event_id": "x", "retries": 99}).status_code == 400
    bad_url = control.put("/tripleplay", json={"url": "http://example.com", "token": "tpp_x"})
    assert bad_url.status_code == 400 and "loopback" in bad_url.json()["error"]
    assert control.get("/tripleplay").json()["url"] == world["url"]  # unchanged
