"""Cursor pagination and creation-time filters on the lists that only grow (D118): exact pages, a
stable walk while rows are added, and refusals of a cursor the list never gave."""

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.api.pagination import decode_cursor, encode_cursor
from tripleplay.api.tests.conftest import NOW, SYSTEM, error_of
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money

pytestmark = pytest.mark.django_db


def _pay(customer, minor: int, key: str):
    return record_payment(SYSTEM, customer, Money(minor, "USD"), idempotency_key=key)


@pytest.fixture
def payments(customer):
    """Five payments a minute apart (100..500), oldest first."""
    rows = []
    for i in range(1, 6):
        clock.advance(timedelta(minutes=1))
        rows.append(_pay(customer, i * 100, f"p{i}"))
    return rows


def amounts(body) -> list[int]:
    return [e["amount"]["amount_minor"] for e in body["items"]]


def test_walking_the_entries_by_cursor_gives_every_row_once_newest_first(support, customer, payments):
    url = f"/customers/{customer.pk}/entries"
    first = support.get(url, {"limit": 2}).json()
    assert (amounts(first), first["count"]) == ([500, 400], 5)
    assert decode_cursor(first["next_cursor"]) == (payments[3].created_at, payments[3].pk)
    _pay(customer, 999, "late")  # a row added meanwhile does not shift the walk
    second = support.get(url, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert (amounts(second), second["count"]) == ([300, 200], 6)
    third = support.get(url, {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert (amounts(third), third["next_cursor"]) == ([100], None)


def test_created_filters(support, customer, payments):
    url = f"/customers/{customer.pk}/entries"
    body = support.get(url, {"created_after": (NOW + timedelta(minutes=1)).isoformat(),
                             "created_before": (NOW + timedelta(minutes=5)).isoformat()}).json()
    assert (amounts(body), body["count"], body["next_cursor"]) == ([400, 300, 200], 3, None)
    body = support.get(url, {"created_after": "2026-03-10T13:03:30+01:00"}).json()  # 12:03:30 UTC
    assert amounts(body) == [500, 400]


def test_the_same_time_pages_by_id(support, customer):
    for i in range(1, 4):
        _pay(customer, i, f"same-{i}")  # the frozen clock: one created_at for all three
    url = f"/customers/{customer.pk}/entries"
    first = support.get(url, {"limit": 1}).json()
    second = support.get(url, {"limit": 1, "cursor": first["next_cursor"]}).json()
    third = support.get(url, {"limit": 1, "cursor": second["next_cursor"]}).json()
    assert [amounts(p) for p in (first, second, third)] == [[3], [2], [1]]
    assert third["next_cursor"] is None


def test_offset_still_pages_for_existing_clients(support, customer, payments):
    body = support.get(f"/customers/{customer.pk}/entries", {"limit": 2, "offset": 2}).json()
    assert (amounts(body), body["count"]) == ([300, 200], 5)


@pytest.mark.parametrize("cursor", ["bm90IGpzb24", encode_cursor(NOW, 1)[:-4] + "AAAA", "W10=",
                                    "WyIyMDI2LTAzLTEwIiwxXQ=="])
def test_a_cursor_the_list_never_gave_is_a_422(support, customer, cursor):
    r = support.get(f"/customers/{customer.pk}/entries", {"cursor": cursor})
    assert r.status_code == 422, r.content
    assert (error_of(r)["code"], error_of(r)["details"]) == ("invalid_cursor", {"field": "cursor"})


def test_a_cursor_with_an_offset_is_a_422(support, customer, payments):
    cursor = support.get(f"/customers/{customer.pk}/entries", {"limit": 1}).json()["next_cursor"]
    r = support.get(f"/customers/{customer.pk}/entries", {"cursor": cursor, "offset": 1})
    assert (r.status_code, error_of(r)["code"]) == (422, "cursor_with_offset")


def test_the_audit_trail_pages_by_cursor(support, customer, payments):
    first = support.get("/audit", {"limit": 3, "object_type": "ledgerentry"}).json()
    rest = support.get("/audit", {"limit": 3, "object_type": "ledgerentry", "cursor": first["next_cursor"]}).json()
    ids = [e["object_id"] for e in first["items"] + rest["items"]]
    assert ids == [str(p.pk) for p in reversed(payments)] and rest["next_cursor"] is None


def test_the_calendars_edges_are_filters_not_overflows(support, customer, payments):
    url = f"/customers/{customer.pk}/entries"
    assert support.get(url, {"created_after": "0001-01-01T00:00:00+05:00"}).json()["count"] == 5
    assert support.get(url, {"created_before": "9999-12-31T23:59:59-05:00"}).json()["count"] == 5


def test_an_unknown_parameter_on_a_list_that_only_grows_is_a_422(support, customer, payments):
    # a misspelt filter would otherwise answer the unfiltered list as if it were the filtered one
    r = support.get(f"/customers/{customer.pk}/entries", {"knd": "payment"})
    assert (r.status_code, error_of(r)["code"], error_of(r)["details"]) == (422, "unknown_parameter", {"field": "knd"})
    assert support.get(f"/customers/{customer.pk}/entries", {"kind": "payment"}).status_code == 200
    assert support.get("/audit", {"object_type": "customer", "limt": "5"}).status_code == 422
