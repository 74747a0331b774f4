"""An integrator's own data (D116): external_id (unique among customers, among accounts) and metadata
(bounded string labels) on customers and accounts: set on create, changed on update, filtered on."""

import pytest

from tripleplay.api.tests.conftest import error_of, snapshot
from tripleplay.customers.models import Account, Customer

pytestmark = pytest.mark.django_db

NEW = {"name": "Grace Hopper", "currency": "USD", "balance_model": "prepaid"}


def test_customer_external_id_and_metadata_round_trip_and_filter(finance, support):
    r = finance.post("/customers", {**NEW, "external_id": " crm-17 ", "metadata": {"segment": "smb", "rep": "Ann"}})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["external_id"], body["metadata"]) == ("crm-17", {"segment": "smb", "rep": "Ann"})
    other = finance.post("/customers", {**NEW, "name": "Other"}).json()
    assert (other["external_id"], other["metadata"]) == (None, {})
    row = Customer.objects.get(pk=body["id"])
    assert (row.external_id, row.metadata) == ("crm-17", {"segment": "smb", "rep": "Ann"})

    found = support.get("/customers", {"external_id": "crm-17"}).json()
    assert [c["id"] for c in found["items"]] == [body["id"]] and found["count"] == 1
    assert support.get("/customers", {"external_id": "crm-1"}).json()["count"] == 0

    r = finance.patch(f"/customers/{body['id']}", {"metadata": {"tier": "gold"}})
    assert r.status_code == 200, r.content
    assert (r.json()["external_id"], r.json()["metadata"]) == ("crm-17", {"tier": "gold"})  # replaced whole
    r = finance.patch(f"/customers/{body['id']}", {"external_id": "", "metadata": {}})
    assert (r.json()["external_id"], r.json()["metadata"]) == (None, {})
    assert Customer.objects.filter(external_id__isnull=True).count() == 2


def test_customer_external_id_is_unique(finance):
    first = finance.post("/customers", {**NEW, "external_id": "crm-1"}).json()
    second = finance.post("/customers", {**NEW, "name": "Two"}).json()
    before = snapshot()
    r = finance.post("/customers", {**NEW, "name": "Dup", "external_id": "crm-1"})
    assert r.status_code == 409
    assert (error_of(r)["code"], error_of(r)["details"]) == ("duplicate", {"field": "external_id"})
    r = finance.patch(f"/customers/{second['id']}", {"external_id": "crm-1"})
    assert r.status_code == 409 and error_of(r)["code"] == "duplicate"
    assert snapshot() == before
    r = finance.patch(f"/customers/{first['id']}", {"external_id": "crm-1"})  # its own: no conflict
    assert r.status_code == 200


@pytest.mark.parametrize("metadata", [
    {f"k{i}": "v" for i in range(51)},
    {"k" * 41: "v"},
    {"": "v"},
    {"k": "v" * 501},
    {"k": 1},
    {"k": {"nested": "no"}},
    {"k": "nul\x00"},
    ["not", "an", "object"],
])
def test_metadata_out_of_bounds_is_a_422_naming_the_field(finance, metadata):
    before = snapshot()
    r = finance.post("/customers", {**NEW, "metadata": metadata})
    assert r.status_code == 422, r.content
    assert "metadata" in str(error_of(r)["details"])
    assert snapshot() == before


def test_metadata_at_the_bounds_is_stored():
    from tripleplay.customers import metadata
    full = {f"{i:040d}": "v" * 500 for i in range(50)}
    assert metadata.metadata(full) == full


def test_account_external_id_and_metadata(finance, support, customer, api_catalog):
    body = {"customer_id": customer.pk, "main_plan_id": api_catalog["basic_plan"].pk}
    r = finance.post("/accounts", {**body, "external_id": "line-9", "metadata": {"site": "north"}})
    assert r.status_code == 201, r.content
    account = r.json()
    assert (account["external_id"], account["metadata"]) == ("line-9", {"site": "north"})
    before = snapshot()
    r = finance.post("/accounts", {**body, "external_id": "line-9"})
    assert r.status_code == 409 and error_of(r)["details"] == {"field": "external_id"}
    assert snapshot() == before
    found = support.get("/accounts", {"external_id": "line-9"}).json()
    assert [a["id"] for a in found["items"]] == [account["id"]]
    r = finance.patch(f"/accounts/{account['id']}", {"external_id": "line-10", "metadata": {}})
    assert r.status_code == 200, r.content
    row = Account.objects.get(pk=account["id"])
    assert (row.external_id, row.metadata) == ("line-10", {})
