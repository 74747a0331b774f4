"""Every operation has a readable, unique operationId and a one-line summary (D115), so that a
generated client reads ``customers_list()``, not ``tripleplay_api_customers_list_customers()``."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tripleplay.api.openapi import operation_id
from tripleplay.api.tests.conftest import BASE

pytestmark = pytest.mark.django_db


def test_every_operation_has_a_unique_readable_id_and_a_one_line_summary():
    doc = Client().get(BASE + "/openapi.json").json()
    ids = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", op["operationId"]), (method, path, op["operationId"])
            assert not op["operationId"].startswith("tripleplay"), (method, path)
            assert op["summary"].strip() and "\n" not in op["summary"], (method, path)
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ids) > 100
    assert doc["paths"][BASE + "/customers"]["get"]["operationId"] == "customers_list"
    assert doc["paths"][BASE + "/customers"]["post"]["operationId"] == "customers_create"
    assert doc["paths"][BASE + "/customers/{customer_id}/payments"]["post"]["operationId"] == "ledger_record_payment"


@pytest.mark.parametrize(("module", "handler", "expected"), [
    ("tripleplay.api.customers", "list_customers", "customers_list"),
    ("tripleplay.api.customers", "change_customer_status", "customers_change_status"),
    ("tripleplay.api.invoices", "void_invoice", "invoices_void"),
    ("tripleplay.api.ledger", "refund", "ledger_refund"),
    ("tripleplay.api.payments", "refund", "payments_refund"),
    ("tripleplay.api.access", "me", "access_me"),
])
def test_operation_id_drops_the_areas_noun(module, handler, expected):
    assert operation_id(module, handler) == expected
