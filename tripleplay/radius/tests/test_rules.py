"""The pure rules: who may connect (decision.refusal) and what an Access-Accept carries per vendor."""

from __future__ import annotations

import pytest

from tripleplay.radius.attributes import ServiceAttributes, reply_attributes
from tripleplay.radius.decision import REFUSALS, Found, pap_matches, pap_request, refusal, reply_message

OK = Found("active", "active", True, 1)


@pytest.mark.parametrize("found, expected", [
    (None, "unknown_user"),
    (OK, None),
    (OK._replace(customer_status="closed", account_status="blocked"), "closed"),
    (OK._replace(account_status="closed"), "closed"),
    (OK._replace(customer_status="blocked", account_status="suspended"), "blocked"),
    (OK._replace(account_status="blocked"), "blocked"),
    (OK._replace(customer_status="suspended"), "suspended"),
    (OK._replace(customer_status="suspended", available_minor=0), "suspended"),  # status before funds
    (OK._replace(has_service=False, available_minor=0), "no_internet_service"),
    (OK._replace(available_minor=0), "no_funds"),
    (OK._replace(available_minor=-500), "no_funds"),
    (OK._replace(on_hold=True, available_minor=0), "on_hold"),  # a vacation hold (D153) before funds
    (OK._replace(on_hold=True, customer_status="suspended"), "suspended"),
])
def test_refusal(found, expected):
    assert refusal(found) == expected


@pytest.mark.parametrize("attributes, expected", [
    ({"User-Name": ["a"], "User-Password": ["pw"]}, True),
    ({"User-Name": ["a"]}, False),  # no password: FreeRADIUS's own check (or none) decides
    ({"User-Password": ["pw", "pw2"]}, False),
    ({"User-Password": []}, False),
    ({"User-Password": ["pw"], "CHAP-Password": ["0x01"]}, False),
    ({"User-Password": ["pw"], "MS-CHAP2-Response": ["0x01"]}, False),
    ({"User-Password": ["pw"], "MS-CHAP-Response": ["0x01"]}, False),
])
def test_pap_request(attributes, expected):
    assert pap_request(attributes) is expected


@pytest.mark.parametrize("given, password, expected", [
    ("s3cret", "s3cret", True), ("s3cret", "s3cret ", False), ("S3cret", "s3cret", False), ("", "", True),
    ("p\u00e9", "p\u00e9", True), ("p\u00e9", "pe", False), ("", "x", False),
])
def test_pap_matches_exactly_as_rlm_pap_without_normalising(given, password, expected):
    assert pap_matches(given, password) is expected


def test_every_refusal_has_a_message_starting_with_its_code():
    assert [reply_message(code).split(": ")[0] for code in REFUSALS] == list(REFUSALS)


FULL = ServiceAttributes(100_000, 20_000, "pool-a", 86_400, 600, 300)
BARE = ServiceAttributes(1_000, 512, "", 0, 0, 0)


@pytest.mark.parametrize("vendor, service, expected", [
    ("mikrotik", FULL, {"Mikrotik-Rate-Limit": "20000k/100000k", "Session-Timeout": "86400", "Idle-Timeout": "600",
                        "Acct-Interim-Interval": "300", "Framed-Pool": "pool-a"}),
    ("mikrotik", BARE, {"Mikrotik-Rate-Limit": "512k/1000k"}),
    ("huawei", FULL, {"Huawei-Input-Average-Rate": "20000000", "Huawei-Output-Average-Rate": "100000000",
                      "Huawei-Framed-Pool": "pool-a", "Framed-Pool": "pool-a", "Session-Timeout": "86400",
                      "Idle-Timeout": "600", "Acct-Interim-Interval": "300"}),
    ("huawei", BARE, {"Huawei-Input-Average-Rate": "512000", "Huawei-Output-Average-Rate": "1000000"}),
])
def test_reply_attributes(vendor, service, expected):
    assert reply_attributes(vendor, service) == expected


def test_rate_attributes_carry_only_the_rate_in_each_vendors_dictionary():
    from tripleplay.radius.attributes import rate_attributes

    assert rate_attributes("mikrotik", 250_000, 40_000) == {"Mikrotik-Rate-Limit": "40000k/250000k"}
    assert rate_attributes("huawei", 250_000, 40_000) == {"Huawei-Input-Average-Rate": "40000000",
                                                          "Huawei-Output-Average-Rate": "250000000"}


def test_reconcile_plan():
    from datetime import UTC, datetime, timedelta

    from tripleplay.radius.reconcile import Billed, plan
    from tripleplay.radius.session_sources import NasSession

    read = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    old, fresh = read - timedelta(minutes=5), read - timedelta(seconds=10)

    def on_nas(sid, rate=(100, 20)):
        return NasSession(sid, "u", None, 0, 0, 0, rate)

    billed = [Billed("gone", "active", old, True, (100, 20)),
              Billed("gone-but-fresh", "active", fresh, True, (100, 20)),
              Billed("gone-stopped", "stopped", old, True, None),
              Billed("ok", "active", old, True, (100, 20)),
              Billed("barred", "active", old, False, (100, 20)),
              Billed("ended-here", "stopped", old, True, None),
              Billed("slow", "active", old, True, (500, 50)),
              Billed("rate-unknown", "active", old, True, (500, 50))]
    nas = [on_nas("ok"), on_nas("barred"), on_nas("ended-here"), on_nas("slow"), on_nas("rate-unknown", None),
           on_nas("stranger")]
    result = plan(billed, nas, read, timedelta(seconds=60))
    assert (result.close, result.record_and_disconnect, result.disconnect, result.change_rate) == (
        ["gone"], ["stranger"], ["barred", "ended-here"], ["slow"])
