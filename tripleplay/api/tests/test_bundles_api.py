"""Bundle rules through the REST API."""

import pytest

from tripleplay.api.tests.conftest import error_of, snapshot
from tripleplay.bundles.models import BundleRule

pytestmark = pytest.mark.django_db

RULE = {"name": "TV + internet + voice, 20 % off", "active_from": "2026-03-01", "tiers": [
    {"services": ["iptv", "data", "voice"], "percent": "20"},
    {"services": ["iptv", "data", "voice"], "at_least": 2, "percent": "10"},
]}


def test_create_get_list_and_patch(admin, support):
    r = admin.post("/bundle-rules", RULE)
    assert r.status_code == 201, r.content
    body = r.json()
    rid = body.pop("id")
    assert body == {
        "name": "TV + internet + voice, 20 % off",
        "tiers": [{"services": ["data", "iptv", "voice"], "at_least": 3, "percent": "20", "amount_minor": None},
                  {"services": ["data", "iptv", "voice"], "at_least": 2, "percent": "10", "amount_minor": None}],
        "fee_service_types": ["data", "iptv", "voice"], "fee_products": [], "currency": "",
        "active_from": "2026-03-01", "active_until": None,
        "created_at": "2026-03-10T12:00:00Z", "updated_at": "2026-03-10T12:00:00Z"}
    assert support.get(f"/bundle-rules/{rid}").json() == {"id": rid, **body}
    assert [x["id"] for x in support.get("/bundle-rules").json()["items"]] == [rid]
    r = admin.patch(f"/bundle-rules/{rid}", {"active_until": "2026-12-31", "fee_service_types": ["iptv"]})
    assert r.status_code == 200, r.content
    assert (r.json()["active_until"], r.json()["fee_service_types"], r.json()["name"]) == (
        "2026-12-31", ["iptv"], RULE["name"])


@pytest.mark.parametrize("change, code", [
    ({"tiers": []}, "invalid_input"),
    ({"tiers": [{"services": ["iptv"], "percent": "20", "amount_minor": 100}]}, "invalid_input"),
    ({"tiers": [{"services": ["iptv"]}]}, "invalid_input"),
    ({"tiers": [{"services": ["iptv"], "amount_minor": 100}]}, "invalid_input"),  # no currency
    ({"tiers": [{"services": ["iptv"], "at_least": 2, "percent": "20"}]}, "invalid_input"),
    ({"tiers": [{"services": ["iptv"], "percent": "0"}]}, "invalid_input"),
    ({"tiers": [{"services": ["iptv"], "percent": "12.345"}]}, "invalid_input"),
    ({"active_until": "2026-01-01"}, "invalid_input"),
    ({"name": ""}, "invalid_input"),
    ({"discount": 5}, "invalid_input"),
])
def test_bad_rules_are_422_and_change_nothing(admin, change, code):
    before = snapshot()
    r = admin.post("/bundle-rules", {**RULE, **change})
    assert (r.status_code, error_of(r)["code"]) == (422, code), r.content
    assert snapshot() == before
    assert not BundleRule.objects.exists()


def test_writes_are_for_admins_and_names_unique(admin, finance, support):
    assert finance.post("/bundle-rules", RULE).status_code == 403
    assert support.post("/bundle-rules", RULE).status_code == 403
    assert admin.post("/bundle-rules", RULE).status_code == 201
    r = admin.post("/bundle-rules", RULE)
    assert (r.status_code, error_of(r)["code"]) == (409, "duplicate")
    assert admin.get("/bundle-rules/999999").status_code == 404
    fixed = admin.post("/bundle-rules", {"name": "Fixed", "currency": "USD", "tiers": [
        {"services": ["iptv", "data"], "amount_minor": 500}]})
    assert fixed.status_code == 201, fixed.content
    assert fixed.json()["tiers"] == [{"services": ["data", "iptv"], "at_least": 2, "percent": None,
                                      "amount_minor": 500}]
