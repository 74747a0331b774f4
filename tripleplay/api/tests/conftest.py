"""Fixtures of the REST API tests: principals of each role, a small catalog, customers, and a
snapshot of everything the API can write (to prove that a refused request wrote nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db.models import Sum
from django.test import Client

from tripleplay import clock
from tripleplay.access import services as access_services
from tripleplay.access.models import ApiClient
from tripleplay.audit.models import AuditEvent
from tripleplay.catalog import services as catalog_services
from tripleplay.catalog.models import PlanAllowance, Product, SubscriptionPlan
from tripleplay.core.actors import Actor
from tripleplay.customers import services as customer_services
from tripleplay.customers.models import Account, AccountProduct, AccountStatusChange, Customer, CustomerStatusChange
from tripleplay.ledger.models import Funds, Hold, LedgerEntry

BASE = "/api/v1"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SYSTEM = Actor.system("test-setup")


class Api:
    """A django.test.Client speaking JSON to /api/v1 as one principal."""

    def __init__(self, token: str | None = None, client: Client | None = None, headers: dict | None = None):
        self.client = client or Client()
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def _headers(self, key: str | None, headers: dict | None) -> dict:
        out = dict(self.headers)
        if key is not None:
            out["Idempotency-Key"] = key
        out.update(headers or {})
        return out

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(BASE + path, params or {}, headers=self._headers(None, headers))

    def _send(self, method: str, path: str, body, key: str | None, raw: str | bytes | None, headers: dict | None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        send = getattr(self.client, method)
        return send(BASE + path, data=data, content_type="application/json", headers=self._headers(key, headers))

    def post(self, path: str, body=None, *, key: str | None = None, raw=None, headers: dict | None = None):
        return self._send("post", path, body, key, raw, headers)

    def patch(self, path: str, body=None, *, raw=None, headers: dict | None = None):
        return self._send("patch", path, body, None, raw, headers)

    def put(self, path: str, body=None, *, raw=None, headers: dict | None = None):
        return self._send("put", path, body, None, raw, headers)

    def delete(self, path: str, params: dict | None = None, headers: dict | None = None):
        query = ""
        if params:
            query = "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return self.client.delete(BASE + path + query, headers=self._headers(None, headers))


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def snapshot() -> dict:
    """Counts and sums of every table the API writes to."""
    funds = Funds.objects.aggregate(balance=Sum("balance_minor"), held=Sum("held_minor"),
                                    limit=Sum("credit_limit_minor"))
    return {
        "customers": Customer.objects.count(),
        "customer_statuses": list(Customer.objects.order_by("id").values_list("status", flat=True)),
        "customer_status_changes": CustomerStatusChange.objects.count(),
        "accounts": Account.objects.count(),
        "account_statuses": list(Account.objects.order_by("id").values_list("status", flat=True)),
        "account_identifiers": list(Account.objects.order_by("id").values_list("login", "device_id", "phone_number")),
        "account_status_changes": AccountStatusChange.objects.count(),
        "assignments": list(AccountProduct.objects.order_by("id").values_list("id", "end_date")),
        "entries": LedgerEntry.objects.count(),
        "holds": list(Hold.objects.order_by("id").values_list("id", "status")),
        "funds": funds,
        "products": list(Product.objects.order_by("id").values_list("id", "name", "status")),
        "plans": list(SubscriptionPlan.objects.order_by("id").values_list("id", "name", "status")),
        "allowances": PlanAllowance.objects.count(),
        "api_clients": list(ApiClient.objects.order_by("id").values_list("id", "is_active")),
        "audit_events": AuditEvent.objects.count(),
    }


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def db_snapshot(db):
    return snapshot


def _api_client(name: str, role: str) -> Api:
    client, token = access_services.create_api_client(SYSTEM, name=name, role=role)
    api = Api(token)
    api.record = client
    api.token = token
    return api


@pytest.fixture
def admin(db) -> Api:
    return _api_client("test-admin", "admin")


@pytest.fixture
def finance(db) -> Api:
    return _api_client("test-finance", "finance")


@pytest.fixture
def support(db) -> Api:
    return _api_client("test-support", "support")


@pytest.fixture
def anon(db) -> Api:
    return Api()


@pytest.fixture
def api_catalog(db) -> dict:
    """USD: two main products (basic, premium) and two add-ons (sports, movies), one plan each;
    EUR: one main product."""
    def product(code, kind, currency="USD", services=("iptv",)):
        return catalog_services.create_product(SYSTEM, code=code, name=code.title(), kind=kind, currency=currency,
                                               services=list(services))

    def plan(prod, code, fee):
        return catalog_services.create_plan(SYSTEM, prod, code=code, name=code.title(), periodic_fee_minor=fee)

    basic = product("tv-basic", "main", services=("iptv", "data"))
    premium = product("tv-premium", "main")
    sports = product("sports", "addon")
    movies = product("movies", "addon")
    euro = product("tv-euro", "main", currency="EUR")
    return {
        "basic": basic, "premium": premium, "sports": sports, "movies": movies, "euro": euro,
        "basic_plan": plan(basic, "basic-monthly", 1000),
        "premium_plan": plan(premium, "premium-monthly", 2500),
        "sports_plan": plan(sports, "sports-monthly", 500),
        "movies_plan": plan(movies, "movies-monthly", 700),
        "euro_plan": plan(euro, "euro-monthly", 900),
    }


def new_customer(name="Ada Lovelace", *, balance_model="postpaid", credit_limit_minor=0, currency="USD", **extra):
    return customer_services.create_customer(SYSTEM, name=name, currency=currency, balance_model=balance_model,
                                             credit_limit_minor=credit_limit_minor, **extra)


@pytest.fixture
def customer(db):
    """Postpaid USD customer with a 50.00 credit limit."""
    return new_customer(email="ada@example.com", credit_limit_minor=5000)


@pytest.fixture
def prepaid(db):
    return new_customer("Prepaid Pete", balance_model="prepaid", email="pete@example.com")


@pytest.fixture(params=["django", "fast_path"])
def ppv_request_path(request, monkeypatch):
    """Run a PPV API test through Django's handler and again through the lean PPV WSGI path."""
    if request.param == "fast_path":
        from tripleplay.api.tests import fast_path_client

        fast_path_client.FastPathClient.served = []
        monkeypatch.setattr(f"{__name__}.Client", fast_path_client.FastPathClient)
        monkeypatch.setattr(f"{request.module.__name__}.Client", fast_path_client.FastPathClient, raising=False)
    return request.param
