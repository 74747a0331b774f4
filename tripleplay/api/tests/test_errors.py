"""The error shape for everything that can go wrong, and the OpenAPI document."""

import pytest
from django.test import Client

from tripleplay.api.tests.conftest import BASE, error_of, snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", ['{"amount_minor": 100', "amount_minor=100", "", "\xff", '{"amount_minor": Infinity}'])
def test_malformed_json_is_400_invalid_json(finance, customer, raw):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", raw=raw.encode("latin-1"), key="k")
    if raw == "":
        assert r.status_code == 422  # no body at all: the required body is missing
        assert error_of(r)["details"]["errors"][0]["type"] == "missing"
    else:
        assert r.status_code == 400, r.content
        err = error_of(r)
        assert err["code"] == "invalid_json"
        assert err["message"].startswith("the request body is not valid JSON")
    assert snapshot() == before


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null"])
def test_json_that_is_not_an_object_is_422(finance, raw):
    before = snapshot()
    r = finance.post("/customers", raw=raw)
    assert r.status_code == 422
    assert error_of(r)["code"] == "invalid_input"
    assert snapshot() == before


def test_validation_error_details(finance):
    r = finance.post("/customers", {"name": "X", "currency": "USD", "balance_model": "prepaid", "bill_cycle_day": "1",
                                    "colour": "red"})
    assert r.status_code == 422
    err = error_of(r)
    assert err["message"] == "the request is not valid"
    assert sorted(err["details"]["errors"], key=lambda e: e["field"]) == [
        {"location": "body", "field": "bill_cycle_day", "message": "Input should be a valid integer", "type": "int_type"},
        {"location": "body", "field": "colour", "message": "Extra inputs are not permitted", "type": "extra_forbidden"},
    ]


def test_path_id_must_be_an_integer(support):
    r = support.get("/customers/abc")
    assert r.status_code == 422
    assert error_of(r)["details"]["errors"][0]["location"] == "path"


def test_huge_id_is_just_not_found(support):
    r = support.get("/customers/99999999999999999999")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_unknown_route_is_404_in_our_shape(support):
    r = support.get("/no-such-thing")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_wrong_method_is_405_in_our_shape(support):
    r = support.client.put(BASE + "/customers", headers=support.headers)
    assert r.status_code == 405
    assert r["Allow"]
    assert error_of(r) == {"code": "method_not_allowed", "message": "PUT is not allowed here",
                           "details": {"allowed": ["GET", "POST"]}}


def test_body_too_large_is_413(finance, customer):
    before = snapshot()
    r = finance.post(f"/customers/{customer.pk}/payments", raw='{"description": "' + "x" * (1024 * 1024) + '"}', key="k")
    assert r.status_code == 413
    assert error_of(r)["code"] == "payload_too_large"
    assert snapshot() == before


def test_unexpected_error_is_500_without_details(support, monkeypatch):
    from tripleplay.customers import selectors

    def broken(**kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(selectors, "customers", broken)
    r = support.get("/customers")
    assert r.status_code == 500
    assert error_of(r) == {"code": "internal_error", "message": "internal error", "details": {}}
    assert b"hunter2" not in r.content and b"Traceback" not in r.content


def test_openapi_document(db):
    r = Client().get(BASE + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert (doc["info"]["title"], doc["info"]["version"]) == ("Tripleplay API", "1")
    paths = doc["paths"]
    expected = {
        "/api/v1/customers": {"get", "post"},
        "/api/v1/customers/{customer_id}": {"get", "patch"},
        "/api/v1/customers/{customer_id}/status": {"post"},
        "/api/v1/customers/{customer_id}/status-history": {"get"},
        "/api/v1/customers/{customer_id}/portal": {"get"},
        "/api/v1/customers/{customer_id}/portal/invite": {"post"},
        "/api/v1/customers/{customer_id}/portal/disable": {"post"},
        "/api/v1/customers/{customer_id}/funds": {"get"},
        "/api/v1/customers/{customer_id}/entries": {"get"},
        "/api/v1/customers/{customer_id}/payments": {"post"},
        "/api/v1/customers/{customer_id}/credits": {"post"},
        "/api/v1/customers/{customer_id}/debits": {"post"},
        "/api/v1/customers/{customer_id}/refunds": {"post"},
        "/api/v1/customers/{customer_id}/holds": {"get", "post"},
        "/api/v1/holds/{hold_id}": {"get"},
        "/api/v1/holds/{hold_id}/capture": {"post"},
        "/api/v1/holds/{hold_id}/release": {"post"},
        "/api/v1/accounts": {"get", "post"},
        "/api/v1/accounts/{account_id}": {"get", "patch"},
        "/api/v1/accounts/{account_id}/status": {"post"},
        "/api/v1/accounts/{account_id}/status-history": {"get"},
        "/api/v1/accounts/{account_id}/products": {"get"},
        "/api/v1/accounts/{account_id}/main-product": {"post"},
        "/api/v1/accounts/{account_id}/addons": {"post"},
        "/api/v1/accounts/{account_id}/addons/{assignment_id}": {"delete"},
        "/api/v1/accounts/{account_id}/holds": {"get", "post"},
        "/api/v1/accounts/{account_id}/holds/{hold_id}/cancel": {"post"},
        "/api/v1/accounts/{account_id}/holds/{hold_id}/end": {"post"},
        "/api/v1/products": {"get", "post"},
        "/api/v1/products/{product_id}": {"get", "patch", "delete"},
        "/api/v1/products/{product_id}/retire": {"post"},
        "/api/v1/plans": {"get", "post"},
        "/api/v1/plans/{plan_id}": {"get", "patch"},
        "/api/v1/plans/{plan_id}/retire": {"post"},
        "/api/v1/bundle-rules": {"get", "post"},
        "/api/v1/bundle-rules/{rule_id}": {"get", "patch"},
        "/api/v1/api-clients": {"get", "post"},
        "/api/v1/api-clients/{client_id}/revoke": {"post"},
        "/api/v1/me": {"get"},
        "/api/v1/audit": {"get"},
        "/api/v1/ppv/authorize": {"post"},
        "/api/v1/voice/authorize": {"post"},
        "/api/v1/voice/update": {"post"},
        "/api/v1/voice/terminate": {"post"},
        "/api/v1/voice/calls/{call_id}": {"get"},
        "/api/v1/softswitches": {"post"},
        "/api/v1/sessions/active": {"get"},
        "/api/v1/ppv/confirm": {"post"},
        "/api/v1/ppv/cancel": {"post"},
        "/api/v1/ppv/purchase": {"post"},
        "/api/v1/orders": {"post"},
        "/api/v1/orders/balance": {"get"},
        "/api/v1/iptv/platforms/{platform_id}/orderable": {"get"},
        "/api/v1/iptv/platforms/{platform_id}/orderable/{product_id}": {"put", "delete"},
        "/api/v1/ppv/purchases": {"get"},
        "/api/v1/ppv/purchases/{purchase_id}": {"get"},
        "/api/v1/ppv/purchases/{purchase_id}/refund": {"post"},
        "/api/v1/ppv/revenue": {"get"},
        "/api/v1/ppv/events": {"post"},
        "/api/v1/iptv/platform-kinds": {"get"},
        "/api/v1/iptv/platforms": {"get", "post"},
        "/api/v1/iptv/platforms/{platform_id}": {"get", "patch"},
        "/api/v1/iptv/platforms/{platform_id}/inbound-token": {"post"},
        "/api/v1/iptv/platforms/{platform_id}/test": {"post"},
        "/api/v1/iptv/platforms/{platform_id}/import": {"post"},
        "/api/v1/iptv/platforms/{platform_id}/reconcile": {"post"},
        "/api/v1/iptv/packages": {"get"},
        "/api/v1/iptv/packages/{package_id}": {"get"},
        "/api/v1/iptv/packages/{package_id}/link": {"post"},
        "/api/v1/iptv/packages/{package_id}/unlink": {"post"},
        "/api/v1/iptv/packages/{package_id}/sell": {"post"},
        "/api/v1/iptv/ppv-events": {"get"},
        "/api/v1/iptv/subscribers": {"get"},
        "/api/v1/iptv/subscribers/{subscriber_id}": {"get"},
        "/api/v1/iptv/subscribers/{subscriber_id}/commands": {"get"},
        "/api/v1/iptv/subscribers/{subscriber_id}/retry": {"post"},
        "/api/v1/iptv/subscribers/{subscriber_id}/cancel": {"post"},
        "/api/v1/iptv/commands": {"get"},
        "/api/v1/invoices": {"get"},
        "/api/v1/invoices/{invoice_id}": {"get"},
        "/api/v1/invoices/{invoice_id}/pdf": {"get"},
        "/api/v1/invoices/{invoice_id}/lines.csv": {"get"},
        "/api/v1/invoices/{invoice_id}/void": {"post"},
        "/api/v1/customers/{customer_id}/invoices": {"post"},
        "/api/v1/customers/{customer_id}/collection-actions": {"get"},
        "/api/v1/iptv/queue": {"get"},
        "/api/v1/xdrs": {"post"},
        "/api/v1/xdrs/errors": {"get"},
        "/api/v1/xdrs/rerate": {"post"},
        "/api/v1/rate-tables": {"get", "post"},
        "/api/v1/rate-tables/{table_id}": {"get"},
        "/api/v1/rate-tables/{table_id}/rates": {"put"},
        "/api/v1/rate-tables/{table_id}/peak-window": {"put"},
        "/api/v1/customers/{customer_id}/checkout": {"post"},
        "/api/v1/customers/{customer_id}/payment-methods/setup": {"post"},
        "/api/v1/customers/{customer_id}/payment-methods": {"get"},
        "/api/v1/customers/{customer_id}/autopay": {"get", "put"},
        "/api/v1/customers/{customer_id}/online-payments": {"get"},
        "/api/v1/customers/{customer_id}/autopay-attempts": {"get"},
        "/api/v1/online-payments/{payment_id}/refunds": {"post"},
        "/api/v1/payments/stripe/webhook": {"post"},
        "/api/v1/voucher-batches": {"get", "post"},
        "/api/v1/voucher-batches/{batch_id}": {"get"},
        "/api/v1/voucher-batches/{batch_id}/disable": {"post"},
        "/api/v1/voucher-redemptions": {"get"},
        "/api/v1/customers/{customer_id}/voucher-redemptions": {"post"},
        "/api/v1/ivr/voucher-redemptions": {"post"},
        "/api/v1/ivr-clients": {"get", "post"},
        "/api/v1/ivr-clients/{client_id}/revoke": {"post"},
        "/api/v1/radius/nas": {"get", "post"},
        "/api/v1/radius/nas/{nas_id}": {"get", "patch"},
        "/api/v1/products/{product_id}/internet-service": {"get", "put"},
        "/api/v1/accounts/{account_id}/internet-password": {"put"},
        "/api/v1/accounts/{account_id}/internet-login": {"get"},
        "/api/v1/radius/sessions": {"get"},
        "/api/v1/radius/sessions/{session_id}": {"get"},
        "/api/v1/radius/sessions/{session_id}/disconnect": {"post"},
        "/api/v1/radius/commands": {"get"},
        "/api/v1/radius/commands/{command_id}/retry": {"post"},
        "/api/v1/radius/commands/{command_id}/cancel": {"post"},
        "/api/v1/webhooks/event-types": {"get"},
        "/api/v1/webhooks/endpoints": {"get", "post"},
        "/api/v1/webhooks/endpoints/{endpoint_id}": {"get", "patch"},
        "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": {"post"},
        "/api/v1/webhooks/events": {"get"},
        "/api/v1/webhooks/events/{event_id}": {"get"},
        "/api/v1/webhooks/events/{event_id}/replay": {"post"},
        "/api/v1/webhooks/deliveries": {"get"},
        "/api/v1/webhooks/deliveries/{delivery_id}": {"get"},
        "/api/v1/webhooks/deliveries/{delivery_id}/replay": {"post"},
        "/api/v1/promotions": {"get", "post"},
        "/api/v1/promotions/{promotion_id}": {"get"},
        "/api/v1/promotions/{promotion_id}/active": {"post"},
        "/api/v1/coupons": {"get", "post"},
        "/api/v1/coupons/{coupon_id}": {"get"},
        "/api/v1/coupons/{coupon_id}/active": {"post"},
        "/api/v1/customers/{customer_id}/promotion-grants": {"get"},
        "/api/v1/accounts/{account_id}/products/{assignment_id}/promotion": {"post"},
        "/api/v1/accounts/{account_id}/products/{assignment_id}/coupon": {"post"},
        "/api/v1/notifications/kinds": {"get"},
        "/api/v1/notifications/templates": {"get"},
        "/api/v1/notifications/templates/{template_id}": {"get", "patch"},
        "/api/v1/notifications/templates/{template_id}/preview": {"post"},
        "/api/v1/notifications": {"get"},
        "/api/v1/notifications/{notification_id}": {"get"},
        "/api/v1/notifications/{notification_id}/retry": {"post"},
        "/api/v1/notifications/twilio/status": {"post"},
        "/api/v1/customers/{customer_id}/notification-preferences": {"get", "patch"},
    }
    assert {p: set(ops) for p, ops in paths.items()} == expected
    payment = paths["/api/v1/customers/{customer_id}/payments"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in payment["parameters"]]
    assert payment["responses"]["default"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert set(doc["components"]["securitySchemes"]) == {"ApiToken", "OperatorSession", "PlatformToken", "IvrToken",
                                                         "SwitchToken"}
    assert Client().get(BASE + "/docs").status_code == 200


def test_api_docs_page_uses_vendored_assets_not_a_cdn(db):
    """Operators run tripleplay on closed networks: the docs page must load without the internet."""
    r = Client().get(BASE + "/docs")
    assert r.status_code == 200
    page = r.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "https://" not in page.replace("https://swagger.io", "")
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
