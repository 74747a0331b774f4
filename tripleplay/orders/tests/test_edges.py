"""The order edges: JSON (POST /api/v1/orders, GET /api/v1/orders/balance), XML (POST /xml/v1/orders,
generic XML protocol 1.3) and the operator's API for the switch. Bad input: a clear error, 4xx,
nothing written."""

from __future__ import annotations

import pytest
from django.test import Client

from tripleplay.access.services import create_api_client
from tripleplay.core.xml import parse, validate
from tripleplay.iptv.configuration import issue_inbound_token
from tripleplay.iptv.xmlproto import XSD_PATH
from tripleplay.ledger.selectors import funds_of
from tripleplay.orders import xmlproto
from tripleplay.orders.models import TvOrder, TvOrderable


@pytest.fixture
def platform_client(world):
    token = issue_inbound_token(world.actor, world.platform)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_json_order_retry_and_conflict(world, platform_client):
    v = world.viewer(2000)
    body = {"transaction_id": "j1", "subscriber": v.ref, "action": "add", "product": "sports"}
    r = platform_client.post("/api/v1/orders", body, content_type="application/json")
    assert r.status_code == 200, r.content
    assert (r.json()["result"], r.json()["amount_minor"], r.json()["available_minor"]) == ("done", 500, 0)
    again = platform_client.post("/api/v1/orders", body, content_type="application/json")
    assert again.json() == r.json()
    conflict = platform_client.post("/api/v1/orders", {**body, "product": "movies"}, content_type="application/json")
    assert (conflict.status_code, conflict.json()["code"]) == (409, "transaction_id_reused")
    assert funds_of(v.customer).balance.minor == 0 and TvOrder.objects.count() == 1
    b = platform_client.get("/api/v1/orders/balance", {"subscriber": v.ref})
    assert (b.status_code, b.json()["balance_minor"], b.json()["available_minor"]) == (200, 0, 0)
    assert platform_client.get("/api/v1/orders/balance", {"subscriber": "tp-0"}).status_code == 404


@pytest.mark.parametrize("body", [{"transaction_id": "x", "subscriber": "tp-1", "action": "buy", "product": "sports"},
                                  {"transaction_id": "x", "subscriber": "tp-1", "action": "add"},
                                  {"transaction_id": "x", "subscriber": "tp-1", "action": "add", "product": "s",
                                   "price": 1}])
def test_json_bad_input_is_422_and_writes_nothing(world, platform_client, body):
    r = platform_client.post("/api/v1/orders", body, content_type="application/json")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    assert TvOrder.objects.count() == 0


def test_json_without_a_platform_token_is_401(world):
    r = Client().post("/api/v1/orders", {}, content_type="application/json")
    assert r.status_code == 401
    r = Client(HTTP_AUTHORIZATION="Bearer tpp_nope").get("/api/v1/orders/balance", {"subscriber": "tp-1"})
    assert r.status_code == 401


def _xml_post(client, document: bytes):
    return client.post("/xml/v1/orders", document, content_type="application/xml")


def test_xml_order_and_balance(world, platform_client):
    v = world.viewer(2000)
    doc = xmlproto.build_request("order", transaction_id="x1", subscriber=v.ref, action="add", product="sports")
    assert b'version="1.3"' in doc
    r = _xml_post(platform_client, doc)
    assert r.status_code == 200, r.content
    validate(parse(r.content), XSD_PATH)
    answer = xmlproto.parse_answer(r.content)
    assert (answer["result"], answer["code"], answer["amount_minor"], answer["plan"]) == ("done", "ok", 500,
                                                                                          "sports-monthly")
    assert xmlproto.parse_answer(_xml_post(platform_client, doc).content) == answer
    other = xmlproto.build_request("order", transaction_id="x1", subscriber=v.ref, action="add", product="movies")
    r = _xml_post(platform_client, other)
    assert (r.status_code, xmlproto.parse_answer(r.content)["code"]) == (409, "transaction_id_reused")
    removed = _xml_post(platform_client, xmlproto.build_request("order", transaction_id="x2", subscriber=v.ref,
                                                                action="remove", product="sports"))
    assert xmlproto.parse_answer(removed.content)["amount_minor"] == -500  # removed the day it was added
    b = xmlproto.parse_answer(_xml_post(platform_client, xmlproto.build_request("balance", subscriber=v.ref)).content)
    assert (b["result"], b["balance_minor"], b["available_minor"], b["customer_status"]) == ("balance", 500, 500,
                                                                                           "active")


@pytest.mark.parametrize("document,code,status", [
    (b"<not-xml", "INVALID_REQUEST", 400),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><orderRequest xmlns="urn:tripleplay:iptv:1" version="1.3"/>',
     "INVALID_REQUEST", 400),
    (b'<orderRequest xmlns="urn:tripleplay:iptv:2" version="2.0"><balance><subscriber>a</subscriber></balance>'
     b'</orderRequest>', "UNSUPPORTED_VERSION", 400),
    (b'<orderRequest xmlns="urn:tripleplay:iptv:1" version="1.3"><order><subscriber>a</subscriber></order>'
     b'</orderRequest>', "INVALID_REQUEST", 400),
    (b'<orderRequest xmlns="urn:tripleplay:iptv:1" version="1.3"><order><transactionId>t</transactionId>'
     b'<subscriber>a</subscriber><action>buy</action><product>p</product></order></orderRequest>', "INVALID_REQUEST", 400),
    (b"<x>" + b"a" * (70 * 1024) + b"</x>", "INVALID_REQUEST", 413),
])
def test_xml_bad_documents_are_errors_and_write_nothing(world, platform_client, document, code, status):
    r = _xml_post(platform_client, document)
    assert r.status_code == status, r.content
    answer = xmlproto.parse_answer(r.content)
    assert (answer["result"], answer["code"]) == ("error", code)
    assert TvOrder.objects.count() == 0


def test_xml_needs_the_platform_token(world):
    r = _xml_post(Client(), xmlproto.build_request("balance", subscriber="tp-1"))
    assert r.status_code == 401 and xmlproto.parse_answer(r.content)["code"] == "AUTHENTICATION_FAILED"


def test_operator_api_sets_the_switch(world):
    _, admin_token = create_api_client(world.actor, name="ops", role="admin")
    _, reader_token = create_api_client(world.actor, name="reader", role="support")
    admin, reader = (Client(HTTP_AUTHORIZATION=f"Bearer {t}") for t in (admin_token, reader_token))
    movies = world.movies_plan.product
    url = f"/api/v1/iptv/platforms/{world.platform.pk}/orderable"
    assert sorted(p["product_code"] for p in reader.get(url).json()) == ["movies", "sports", "tv-plus"]
    assert reader.delete(f"{url}/{movies.pk}").status_code == 403
    r = admin.delete(f"{url}/{movies.pk}")
    assert (r.status_code, r.json()) == (200, {"changed": True})
    assert not TvOrderable.objects.filter(platform=world.platform, product=movies).exists()
    assert admin.put(f"{url}/{movies.pk}").json() == {"changed": True}
    assert admin.put(f"{url}/{movies.pk}").json() == {"changed": False}
    assert admin.put(f"{url}/999999").status_code == 404


def test_every_xml_example_of_the_orders_docs_validates_against_the_xsd():
    import re
    from pathlib import Path

    from tripleplay.core.xml import parse_valid

    docs = Path(__file__).resolve().parents[3] / "docs"
    examples = re.findall(r"```xml\n(.*?)```", (docs / "orders.md").read_text(), flags=re.S)
    spec = (docs / "platforms" / "generic_xml.md").read_text()
    examples += re.findall(r"```xml\n(.*?)```", spec[spec.index("## 8. Orders"):], flags=re.S)
    assert len(examples) == 7
    for example in examples:
        parse_valid(example.encode(), XSD_PATH)
        if example.startswith("<orderResponse"):
            assert xmlproto.parse_answer(example.encode())["result"] in ("done", "declined", "balance", "error")
        else:
            assert xmlproto.parse_request(example.encode())[0] in ("order", "balance")
