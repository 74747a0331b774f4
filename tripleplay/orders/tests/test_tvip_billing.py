"""TVIP TMS's billing-API edge (POST /tvip/v1/<platform>/billing/tariffs/<tariff>/<action>, D230-D232) in
process, against the TVIP simulator as TMS's provider API (the account lookup). Requests are signed with the
simulator's own signing function, not the edge's. Unsigned, forged, other-provider and malformed requests
change nothing; the orders world's clock is 11 March 2026 (10 of March's 31 days used)."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from tripleplay.iptv.configuration import update_platform
from tripleplay.iptv.models import Platform
from tripleplay.ledger.selectors import funds_of
from tripleplay.orders.models import TvOrder
from tripleplay.orders.tvip import REPLAY_SECONDS
from tripleplay.simulators.testing import running_simulator
from tripleplay.simulators.tvip import billing_signature

TOKEN = "tms-token-abc"


@pytest.fixture(scope="module")
def tms():
    with running_simulator("tvip") as sim:
        yield sim


@pytest.fixture
def tvip(world, tms):
    """The orders world's platform made a TVIP platform against the simulator; ``other_platform`` too."""
    tms.reset()
    for p in (world.platform, world.other_platform):
        Platform.objects.filter(pk=p.pk).update(kind="tvip")
        update_platform(world.actor, p, base_url=tms.url, username=tms.username, secret=tms.password,
                        inbound_secret=TOKEN)
    return tms


def tms_account(sim, ref: str) -> int:
    """The simulator's TMS id of the account carrying ``ref`` (made on the simulator first)."""
    sim.put_subscriber(ref, packages=["basic"])
    r = httpx.get(f"{sim.url}/api/provider/accounts", params={"remote_custom_field": ref},
                  auth=(sim.username, sim.password), trust_env=False)
    return r.json()["data"][0]["id"]


def post(path: str, *, account, token: str = TOKEN, provider="1", body: bytes = b"", sign_path: str | None = None,
         signature: str | None = None):
    headers = {"HTTP_X_TMS_ACCOUNT_ID": str(account), "HTTP_X_TMS_PROVIDER_ID": provider,
               "HTTP_ACCEPT_LANGUAGE": "en"}
    if signature is None:
        signature = billing_signature(sign_path or path, token, len(body))
    if signature:
        headers["HTTP_X_AUTH_TOKEN"] = signature
    return Client().post(path, body, content_type="application/json", **headers)


URL = "/tvip/v1/ordertv/billing/tariffs/{tariff}/{action}"


def test_subscribe_switch_cancel_charge_as_the_orders_do(world, tvip):
    v = world.viewer(5000)  # 15.00 of March charged on 1 March: 35.00 left
    account = tms_account(tvip, v.ref)
    r = post(URL.format(tariff="sports", action="subscribe"), account=account)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["result"], body["action"], body["tms_action"], body["tms_account_id"], body["amount_minor"],
            body["balance_minor"]) == ("done", "add", "subscribe", account, 500, 3000)
    # Switch: 15.00 - round(15.00 x 10 / 31) = 10.16 credited, TV Plus 20.00 charged: 9.84 (docs/orders.md).
    r = post(URL.format(tariff="tv-plus", action="switch"), account=account)
    assert (r.status_code, r.json()["action"], r.json()["amount_minor"]) == (200, "change", 984)
    r = post(URL.format(tariff="sports", action="cancel"), account=account)
    assert (r.status_code, r.json()["action"], r.json()["amount_minor"]) == (200, "remove", -500)  # the same day
    assert funds_of(v.customer).balance.minor == 3500 - 984
    # Subscribe again after the cancel: a new order (the derived key moved on), charged again.
    r = post(URL.format(tariff="sports", action="subscribe"), account=account)
    assert (r.status_code, r.json()["result"], r.json()["amount_minor"]) == (200, "done", 500)
    assert TvOrder.objects.filter(account=v.account).count() == 4


def test_a_retry_is_answered_alike_and_charged_once(world, tvip):
    v = world.viewer(5000)
    account = tms_account(tvip, v.ref)
    first = post(URL.format(tariff="movies", action="subscribe"), account=account)
    again = post(URL.format(tariff="movies", action="subscribe"), account=account)
    assert (first.status_code, again.status_code, again.json()) == (200, 200, first.json())
    assert TvOrder.objects.filter(account=v.account).count() == 1
    assert funds_of(v.customer).balance.minor == 3000


def test_a_retry_after_the_replay_window_is_a_new_order_declined_without_a_charge(world, tvip):
    from datetime import timedelta

    from tripleplay import clock

    v = world.viewer(5000)
    account = tms_account(tvip, v.ref)
    assert post(URL.format(tariff="movies", action="subscribe"), account=account).status_code == 200
    clock.freeze(clock.now() + timedelta(seconds=REPLAY_SECONDS + 1))
    late = post(URL.format(tariff="movies", action="subscribe"), account=account)
    assert (late.status_code, late.json()["code"]) == (409, "already_subscribed")
    assert funds_of(v.customer).balance.minor == 3000


@pytest.mark.parametrize("case", ["unsigned", "forged", "wrong_token", "other_path", "body_length", "provider"])
def test_unsigned_or_forged_requests_change_nothing(world, tvip, case):
    v = world.viewer(5000)
    account = tms_account(tvip, v.ref)
    path = URL.format(tariff="sports", action="subscribe")
    kwargs = {"unsigned": {"signature": ""}, "forged": {"signature": "0" * 32}, "wrong_token": {"token": "guess"},
              "other_path": {"sign_path": URL.format(tariff="movies", action="subscribe")},
              "body_length": {"signature": billing_signature(path, TOKEN, 0), "body": b"{}"},
              "provider": {"provider": "2"}}[case]
    r = post(path, account=account, **kwargs)
    expected = {"unsigned": (401, "unsigned"), "provider": (403, "wrong_provider")}.get(case, (403, "bad_signature"))
    assert (r.status_code, r.json()["code"], r.json()["statusCode"]) == (*expected, expected[0])
    assert TvOrder.objects.count() == 0 and funds_of(v.customer).balance.minor == 3500


def test_no_token_configured_refuses_every_signature(world, tvip):
    update_platform(world.actor, world.platform, inbound_secret="")
    v = world.viewer(5000)
    r = post(URL.format(tariff="sports", action="subscribe"), account=tms_account(tvip, v.ref), token="")
    assert (r.status_code, r.json()["code"]) == (403, "bad_signature")
    assert TvOrder.objects.count() == 0


def test_another_platforms_subscriber_answers_like_an_unknown_account(world, tvip):
    theirs = world.viewer(5000, other_platform=True)
    known_elsewhere = post(URL.format(tariff="sports", action="subscribe"), account=tms_account(tvip, theirs.ref))
    unknown = post(URL.format(tariff="sports", action="subscribe"), account=999999)
    assert known_elsewhere.status_code == unknown.status_code == 404
    assert known_elsewhere.json()["code"] == unknown.json()["code"] == "unknown_subscriber"
    assert TvOrder.objects.count() == 0 and funds_of(theirs.customer).balance.minor == 3500


def test_declines_carry_tms_error_shape(world, tvip):
    poor = world.viewer(1600)  # 1.00 left after March's TV
    account = tms_account(tvip, poor.ref)
    r = post(URL.format(tariff="sports", action="subscribe"), account=account)
    assert (r.status_code, r.json()["code"], r.json()["statusCode"], r.json()["available_minor"]) == (
        402, "insufficient_funds", 402, 100)
    assert r.json()["cause"] == r.json()["message"]
    r = post(URL.format(tariff="no-such", action="subscribe"), account=account)
    assert (r.status_code, r.json()["code"]) == (404, "unknown_product")
    r = post(URL.format(tariff="tv", action="subscribe"), account=account)
    assert (r.status_code, r.json()["code"]) == (409, "not_orderable")
    assert funds_of(poor.customer).balance.minor == 100


@pytest.mark.parametrize("case", ["account_header", "action", "method", "platform", "too_large", "other_method"])
def test_malformed_requests_are_4xx_json_and_write_nothing(world, tvip, case):
    v = world.viewer(5000)
    account = tms_account(tvip, v.ref)
    if case == "account_header":
        r = post(URL.format(tariff="sports", action="subscribe"), account="12a")
        expected = (400, "invalid_request")
    elif case == "action":
        r = post(URL.format(tariff="sports", action="buy"), account=account)
        expected = (404, "unknown_action")
    elif case == "method":
        r = Client().get(URL.format(tariff="sports", action="subscribe"))
        expected = (405, "method_not_allowed")
    elif case == "other_method":  # e.g. the reference's tariff listing: not served
        r = post("/tvip/v1/ordertv/billing/tariffs", account=account)
        expected = (404, "not_found")
    elif case == "platform":
        r = post("/tvip/v1/nope/billing/tariffs/sports/subscribe", account=account)
        expected = (404, "unknown_platform")
    else:
        path = URL.format(tariff="sports", action="subscribe")
        big = b"x" * (64 * 1024 + 1)
        r = post(path, account=account, body=big)
        expected = (413, "too_large")
    assert (r.status_code, r.json()["code"]) == expected
    assert TvOrder.objects.count() == 0 and funds_of(v.customer).balance.minor == 3500


def test_tms_down_is_503_and_writes_nothing(world, tvip):
    v = world.viewer(5000)
    account = tms_account(tvip, v.ref)
    update_platform(world.actor, world.platform, base_url="http://127.0.0.1:9")
    r = post(URL.format(tariff="sports", action="subscribe"), account=account)
    assert (r.status_code, r.json()["code"]) == (503, "platform_unavailable")
    assert TvOrder.objects.count() == 0


def test_the_inbound_secret_is_set_through_the_api_stored_encrypted_and_never_returned(world):
    from tripleplay.access.services import create_api_client

    token = create_api_client(world.actor, name="ops", role="admin")[1]
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = admin.patch(f"/api/v1/iptv/platforms/{world.platform.pk}", {"inbound_secret": "s3cr3t-billing"},
                    content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["has_inbound_secret"] is True and b"s3cr3t-billing" not in r.content
    stored = Platform.objects.get(pk=world.platform.pk).inbound_secret_encrypted
    assert stored and "s3cr3t-billing" not in stored
    from tripleplay.iptv.configuration import inbound_secret

    assert inbound_secret(Platform.objects.get(pk=world.platform.pk)) == "s3cr3t-billing"


@pytest.mark.django_db(transaction=True)
def test_identical_requests_at_once_make_one_order_and_one_charge(world, tms):
    """TMS retrying while the first request is still running: the derived key is the same for all, so
    they meet on the orders' unique index and share the first answer (D231)."""
    from django.db import connection

    from tripleplay.ledger.tests.test_concurrency import run_concurrently, unexpected

    tms.reset()
    Platform.objects.filter(pk=world.platform.pk).update(kind="tvip")
    update_platform(world.actor, world.platform, base_url=tms.url, username=tms.username, secret=tms.password,
                    inbound_secret=TOKEN)
    v = world.viewer(5000)
    account = tms_account(tms, v.ref)
    n = 6 if connection.vendor == "postgresql" else 3

    def send(_i: int):
        r = post(URL.format(tariff="sports", action="subscribe"), account=account)
        return r.status_code, r.json()

    results = run_concurrently(send, n)
    assert unexpected(results) == []
    answers = [r for _, r in results]
    assert {status for status, _ in answers} == {200}
    assert len({a["order_id"] for _, a in answers}) == 1 and {a["amount_minor"] for _, a in answers} == {500}
    assert TvOrder.objects.filter(account=v.account).count() == 1
    assert funds_of(v.customer).balance.minor == 3000
