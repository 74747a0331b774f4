"""TVIP TMS's billing API end to end with real processes (docs/platforms/tvip.md "Billing API", D230-D232):
`tripleplay serve` on a temporary SQLite home with its clock at 11 March 2026, and the TVIP simulator as
TMS. The simulator sends the signed billing-API request (X-TMS-ACCOUNT-ID, X-TMS-PROVIDER-ID, X-AUTH-TOKEN,
signed by the simulator's own code) to tripleplay's URL; tripleplay finds the subscriber through TMS's
provider API, charges the prorated first period, and the tariff reaches the simulator's account only
through provisioning (`tripleplay worker --until-idle`). Funds are read back through the REST API."""

from __future__ import annotations

import json

import pytest

from tripleplay.core.testing import (
    admin_client,
    customer_funds,
    home_env,
    migrate_and_seed,
    provision,
    start_serve,
    stop_serve,
)
from tripleplay.simulators.testing import SimulatorProcess

TOKEN = "tms-billing-token-0123456789"
CLOCK = "2026-03-11T12:00:00Z"

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_api_client
from tripleplay.catalog.models import Alignment
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.iptv.configuration import create_platform
from tripleplay.iptv.models import ChannelPackage, Subscriber
from tripleplay.iptv.packages import link_package
from tripleplay.iptv.tests.conftest import make_tv_catalog
from tripleplay.iptv.worker import RetryPolicy, Worker
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.orders.services import set_orderable

actor = Actor.system("test")
p = create_platform(actor, code="tms", name="TMS", kind="tvip", base_url=URL, username="tripleplay", secret="secret",
                    timeout_seconds="5", inbound_secret=TOKEN)
cat = make_tv_catalog(actor, p)
# An add-on whose periods follow the customer's billing period: subscribing on 11 March charges 21/31 of it.
cinema = create_product(actor, code="cinema", name="Cinema", kind="addon", currency="USD", services=["iptv"])
create_plan(actor, cinema, code="cinema-monthly", name="Cinema monthly", periodic_fee_minor=500,
            alignment=Alignment.BILLING_PERIOD)
from tripleplay.simulators.base import DEFAULT_PACKAGES
sports_name = next(x["name"] for x in DEFAULT_PACKAGES if x["external_id"] == "sports")
link_package(actor, ChannelPackage.objects.get(platform=p, name=sports_name), cinema)
set_orderable(actor, p, cinema, True)  # kids stays not orderable
c = create_customer(actor, name="viewer", currency="USD", balance_model="prepaid")
record_payment(actor, c, Money(5000, "USD"), idempotency_key="seed-viewer")
a = create_account(actor, c, main_plan=cat.tv_plan, login="viewer")
sub = Subscriber.objects.get(account=a, platform=p).external_id
Worker(threads=1, poll_seconds=0.05, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05)).run(
    until_idle=True, max_seconds=30)
print("SEED " + json.dumps({"customer": c.pk, "subscriber": sub,
                            "admin_token": create_api_client(actor, name="tvip-test", role="admin")[1]}))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("tvip_billing_home")
    env = home_env(home, TRIPLEPLAY_CLOCK=CLOCK)
    sim = SimulatorProcess("tvip")
    server = None
    try:
        sim.start()
        seed = migrate_and_seed(env, f"URL = {sim.url!r}\nTOKEN = {TOKEN!r}\n{SEED}")
        server, url = start_serve(env, home / "serve.log")
        r = sim.control.put("/billing", json={"url": f"{url}/tvip/v1/tms/billing", "token": TOKEN, "provider_id": 1})
        assert r.status_code == 200, r.text
        with admin_client(url, seed["admin_token"]) as admin:
            yield {"url": url, "sim": sim, "seed": seed, "admin": admin, "env": env}
    finally:
        stop_serve(server)
        sim.stop()


def send(world, action: str, tariff: str) -> dict:
    r = world["sim"].control.post("/billing/send", json={"subscriber": world["seed"]["subscriber"], "action": action,
                                                         "tariff": tariff}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def balance(world) -> int:
    return customer_funds(world["admin"], world["seed"]["customer"])["balance"]


def tariffs(world) -> list[str]:
    return sorted(world["sim"].subscribers()[world["seed"]["subscriber"]]["packages"])


def test_subscribe_charges_the_prorated_period_and_reaches_tms_through_provisioning(world):
    assert tariffs(world) == ["basic"] and balance(world) == 5000
    record = send(world, "subscribe", "cinema")
    answer = record["answer"]
    assert record["status"] == 200, json.dumps(record)
    # 11..31 March of a 5.00 month: round(500 x 21 / 31) = 339.
    assert (answer["result"], answer["code"], answer["action"], answer["tms_action"], answer["product"],
            answer["amount_minor"], answer["balance_minor"]) == ("done", "ok", "add", "subscribe", "cinema", 339, 4661)
    assert answer["tms_account_id"] == int(record["headers"]["X-TMS-ACCOUNT-ID"])
    assert tariffs(world) == ["basic"]  # nothing reaches TMS until provisioning tells it
    provision(world["env"])
    assert tariffs(world) == ["basic", "sports"]
    assert balance(world) == 4661

    again = send(world, "subscribe", "cinema")  # TMS retries: the same answer, nothing charged again
    assert (again["status"], again["answer"]) == (200, answer)
    provision(world["env"])
    assert balance(world) == 4661 and tariffs(world) == ["basic", "sports"]


def test_a_forged_signature_changes_nothing(world):
    before = balance(world)
    sim = world["sim"]
    url = sim.control.get("/billing").json()["url"]
    try:
        sim.control.put("/billing", json={"url": url, "token": "not-the-token", "provider_id": 1})
        record = send(world, "cancel", "cinema")
    finally:
        sim.control.put("/billing", json={"url": url, "token": TOKEN, "provider_id": 1})
    assert (record["status"], record["answer"]["code"], record["answer"]["statusCode"]) == (403, "bad_signature", 403)
    provision(world["env"])
    assert balance(world) == before and tariffs(world) == ["basic", "sports"]


def test_a_product_not_orderable_from_tms_is_refused(world):
    before = balance(world)
    record = send(world, "subscribe", "kids")
    assert (record["status"], record["answer"]["result"], record["answer"]["code"]) == (409, "declined", "not_orderable")
    provision(world["env"])
    assert balance(world) == before and "kids" not in tariffs(world)


def test_cancel_credits_the_unused_part_and_removes_the_tariff(world):
    before = balance(world)
    record = send(world, "cancel", "cinema")
    assert (record["status"], record["answer"]["result"], record["answer"]["amount_minor"]) == (200, "done", -339)
    provision(world["env"])
    assert balance(world) == before + 339 and tariffs(world) == ["basic"]
