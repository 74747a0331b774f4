"""Authentication (API tokens, operator sessions with CSRF) and the role matrix."""

import pytest
from django.http import HttpRequest
from django.test import Client

from tripleplay.access import services as access_services
from tripleplay.api.tests.conftest import SYSTEM, Api, error_of, snapshot

pytestmark = pytest.mark.django_db

PAYMENT = {"amount_minor": 1000, "method": "cash"}


def test_unauthenticated_get_and_post_are_401(anon, customer):
    before = snapshot()
    r = anon.get("/customers")
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthenticated"
    assert r["WWW-Authenticate"].startswith("Bearer")
    r = anon.post(f"/customers/{customer.pk}/payments", PAYMENT, key="k1")
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthenticated"
    assert snapshot() == before


def test_bad_token_is_401_and_writes_nothing(customer):
    before = snapshot()
    bad = Api("tp_this-is-not-a-token")
    r = bad.get(f"/customers/{customer.pk}")
    assert r.status_code == 401
    assert error_of(r) == {"code": "unauthenticated", "message": "invalid or revoked API token", "details": {}}
    r = bad.post(f"/customers/{customer.pk}/payments", PAYMENT, key="k1")
    assert r.status_code == 401
    assert snapshot() == before


def test_other_authorization_scheme_is_401(customer):
    r = Api(headers={"Authorization": "Basic dXNlcjpwYXNz"}).get("/customers")
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthenticated"


def test_revoked_client_is_401(finance, customer):
    assert finance.get("/me").status_code == 200
    access_services.revoke_api_client(SYSTEM, finance.record)
    r = finance.get("/me")
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthenticated"


def test_token_use_is_noted(finance):
    assert finance.record.last_used_at is None
    assert finance.get("/me").status_code == 200
    finance.record.refresh_from_db()
    assert finance.record.last_used_at is not None


def test_me_for_each_kind_of_principal(admin, support, db):
    assert admin.get("/me").json() == {"kind": "api_client", "name": "test-admin", "role": "admin"}
    assert support.get("/me").json() == {"kind": "api_client", "name": "test-support", "role": "support"}
    access_services.create_operator(SYSTEM, username="fiona", password="correct-horse", role="finance")
    client = Client()
    assert client.login(request=HttpRequest(), username="fiona", password="correct-horse")
    assert Api(client=client).get("/me").json() == {"kind": "operator", "name": "fiona", "role": "finance"}


def test_support_can_read_everything(support, customer, api_catalog):
    for path in ["/customers", f"/customers/{customer.pk}", f"/customers/{customer.pk}/funds",
                 f"/customers/{customer.pk}/entries", f"/customers/{customer.pk}/holds",
                 f"/customers/{customer.pk}/status-history", "/accounts", "/products",
                 f"/products/{api_catalog['basic'].pk}", "/plans", f"/plans/{api_catalog['basic_plan'].pk}",
                 "/audit", "/me"]:
        r = support.get(path)
        assert r.status_code == 200, (path, r.content)


def test_support_every_write_is_403_and_writes_nothing(support, customer, api_catalog):
    c = customer.pk
    writes = [
        ("post", f"/customers/{c}/payments", {"amount_minor": 1000}, "k-pay"),
        ("post", f"/customers/{c}/credits", {"amount_minor": 1000, "reason": "goodwill"}, "k-credit"),
        ("post", f"/customers/{c}/debits", {"amount_minor": 1000, "reason": "fee"}, "k-debit"),
        ("post", f"/customers/{c}/refunds", {"amount_minor": 1000, "reason": "sorry"}, "k-refund"),
        ("post", f"/customers/{c}/holds", {"amount_minor": 1000}, "k-hold"),
        ("post", "/customers", {"name": "Eve", "currency": "USD", "balance_model": "prepaid"}, None),
        ("patch", f"/customers/{c}", {"name": "Mallory"}, None),
        ("post", f"/customers/{c}/status", {"status": "blocked", "reason": "fraud"}, None),
        ("post", "/accounts", {"customer_id": c, "main_plan_id": api_catalog["basic_plan"].pk}, None),
        ("post", "/products", {"code": "x", "name": "X", "kind": "main", "currency": "USD", "services": ["iptv"]}, None),
        ("post", f"/products/{api_catalog['basic'].pk}/retire", None, None),
        ("delete", f"/products/{api_catalog['basic'].pk}", None, None),
        ("post", "/plans", {"product_id": api_catalog["basic"].pk, "code": "p", "name": "P", "periodic_fee_minor": 1}, None),
        ("post", "/api-clients", {"name": "sneaky", "role": "admin"}, None),
        ("get", "/api-clients", None, None),
    ]
    before = snapshot()
    for method, path, body, key in writes:
        if method == "post":
            r = support.post(path, body, key=key)
        elif method == "patch":
            r = support.patch(path, body)
        else:
            r = getattr(support, method)(path)
        assert r.status_code == 403, (method, path, r.content)
        err = error_of(r)
        assert err["code"] == "permission_denied"
        assert err["details"]["role"] == "support"
    assert snapshot() == before


def test_finance_posts_money_but_not_catalog(finance, customer):
    r = finance.post(f"/customers/{customer.pk}/payments", PAYMENT, key="fin-1")
    assert r.status_code == 201
    before = snapshot()
    r = finance.post("/products", {"code": "x", "name": "X", "kind": "main", "currency": "USD", "services": ["iptv"]})
    assert r.status_code == 403
    assert error_of(r)["details"] == {"role": "finance", "allowed_roles": ["admin"]}
    r = finance.post("/api-clients", {"name": "x", "role": "admin"})
    assert r.status_code == 403
    assert snapshot() == before


def test_admin_can_do_all(admin, customer):
    assert admin.post(f"/customers/{customer.pk}/payments", PAYMENT, key="adm-1").status_code == 201
    r = admin.post("/products", {"code": "x", "name": "X", "kind": "main", "currency": "USD", "services": ["iptv"]})
    assert r.status_code == 201
    assert admin.post("/api-clients", {"name": "new", "role": "support"}).status_code == 201


def test_operator_without_role_is_403(db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="nobody", password="correct-horse")
    client = Client()
    assert client.login(request=HttpRequest(), username="nobody", password="correct-horse")
    r = Api(client=client).get("/me")
    assert r.status_code == 403
    assert error_of(r)["code"] == "permission_denied"


@pytest.fixture
def finance_operator(db):
    return access_services.create_operator(SYSTEM, username="olga", password="correct-horse", role="finance")


def test_session_post_without_csrf_token_is_403(finance_operator, customer):
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="olga", password="correct-horse")
    api = Api(client=client)
    assert api.get(f"/customers/{customer.pk}").status_code == 200  # safe methods need no token
    before = snapshot()
    r = api.post(f"/customers/{customer.pk}/payments", PAYMENT, key="s-1")
    assert r.status_code == 403
    assert error_of(r)["code"] == "csrf_failed"
    r = api.patch(f"/customers/{customer.pk}", {"name": "Changed"})
    assert r.status_code == 403
    assert snapshot() == before


def test_session_post_with_csrf_token_works(finance_operator, customer):
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="olga", password="correct-horse")
    api = Api(client=client)
    assert api.get("/me").status_code == 200  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    r = api.post(f"/customers/{customer.pk}/payments", PAYMENT, key="s-1", headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.content
    entry = r.json()
    assert entry["actor"] == {"kind": "operator", "name": "olga"}
    assert entry["amount"] == {"amount_minor": 1000, "amount": "10.00", "currency": "USD"}


def test_token_requests_need_no_csrf(finance, customer):
    finance.client = Client(enforce_csrf_checks=True)
    r = finance.post(f"/customers/{customer.pk}/payments", PAYMENT, key="t-1")
    assert r.status_code == 201


def test_logged_out_session_is_401(finance_operator):
    client = Client(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="olga", password="correct-horse")
    client.logout()
    r = Api(client=client).post("/customers", {"name": "x", "currency": "USD", "balance_model": "prepaid"})
    assert r.status_code == 401
