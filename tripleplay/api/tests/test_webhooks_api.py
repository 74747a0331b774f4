"""The webhooks API: endpoints (secret shown once, rotation), events, deliveries with attempts, replays."""

from __future__ import annotations

from tripleplay.api.tests.conftest import SYSTEM, error_of, new_customer
from tripleplay.audit.models import AuditEvent
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.webhooks.models import Delivery, Endpoint


def create(api, **body):
    return api.post("/webhooks/endpoints", {"url": "https://crm.example.com/hooks", **body})


def test_create_shows_the_secret_once(admin):
    r = create(admin, description="CRM", event_types=["payment.recorded", "invoice.paid"])
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["secret"].startswith("whsec_") and body["secret_prefix"] == body["secret"][:10]
    assert {k: body[k] for k in ("url", "description", "event_types", "enabled", "timeout_seconds")} == {
        "url": "https://crm.example.com/hooks", "description": "CRM", "event_types": ["invoice.paid", "payment.recorded"],
        "enabled": True, "timeout_seconds": 10}
    got = admin.get(f"/webhooks/endpoints/{body['id']}").json()
    assert "secret" not in got and got["secret_prefix"] == body["secret_prefix"]
    assert body["secret"] not in str(Endpoint.objects.get().secret_encrypted)  # encrypted at rest
    assert AuditEvent.objects.filter(action="webhook_endpoint.created").count() == 1


def test_only_admins_configure_endpoints(finance, support):
    for api in (finance, support):
        r = create(api)
        assert r.status_code == 403 and error_of(r)["code"] == "permission_denied"
    assert Endpoint.objects.count() == 0


def test_bad_input_is_a_422_and_writes_nothing(admin):
    cases = [
        ({"url": "ftp://x.example/"}, "url"),  # refused at the edge: the field's declared pattern
        ({"url": "https://u:p@x.example/"}, None),
        ({"event_types": ["nope"]}, None),
        ({"event_types": []}, None),
        ({"description": "a\u0000b"}, None),
        ({"timeout_seconds": 0}, None),
        ({"timeout_seconds": 10**20}, None),
        ({"secret": "whsec_mine"}, None),  # unknown field
    ]
    for body, message in cases:
        r = create(admin, **body)
        assert r.status_code == 422, (body, r.content)
        if message:
            assert message in {e["field"] for e in error_of(r)["details"]["errors"]}
    assert Endpoint.objects.count() == 0


def test_patch_and_rotate(admin):
    ep = create(admin).json()
    r = admin.patch(f"/webhooks/endpoints/{ep['id']}", {"enabled": False, "event_types": ["*"]})
    assert r.status_code == 200 and (r.json()["enabled"], r.json()["event_types"]) == (False, ["*"])
    r = admin.post(f"/webhooks/endpoints/{ep['id']}/rotate-secret")
    assert r.status_code == 200
    rotated = r.json()
    assert rotated["secret"] != ep["secret"] and rotated["previous_secret_valid_until"] == "2026-03-11T12:00:00Z"
    assert admin.patch(f"/webhooks/endpoints/{ep['id']}", {"url": "nope"}).status_code == 422
    assert admin.get("/webhooks/endpoints/999").status_code == 404


def test_events_deliveries_and_replays(admin, finance, support):
    ep = create(admin, event_types=["payment.recorded"]).json()
    c = new_customer()
    record_payment(SYSTEM, c, Money(700, "USD"), idempotency_key="p1")
    (event,) = support.get("/webhooks/events").json()["items"]
    assert (event["type"], event["payload"]["amount_minor"]) == ("payment.recorded", 700)
    (d,) = support.get("/webhooks/deliveries", {"endpoint_id": ep["id"]}).json()["items"]
    assert (d["status"], d["event_uid"], d["attempts"]) == ("pending", event["uid"], 0)
    assert support.get("/webhooks/deliveries", {"status": "failed"}).json()["items"] == []
    detail = support.get(f"/webhooks/deliveries/{d['id']}").json()
    assert detail["attempt_log"] == []
    r = finance.post(f"/webhooks/deliveries/{d['id']}/replay")
    assert r.status_code == 409 and error_of(r)["code"] == "delivery_pending"
    Delivery.objects.filter(pk=d["id"]).update(status="failed", attempts=12)
    r = finance.post(f"/webhooks/deliveries/{d['id']}/replay")
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert support.post(f"/webhooks/deliveries/{d['id']}/replay").status_code == 403
    Delivery.objects.filter(pk=d["id"]).update(status="succeeded")
    r = finance.post(f"/webhooks/events/{event['id']}/replay", {"endpoint_id": ep["id"]})
    assert r.status_code == 200 and [x["status"] for x in r.json()] == ["pending"]
    assert support.get("/webhooks/event-types").json() == [
        "customer.status_changed", "invoice.issued", "invoice.paid", "payment.recorded", "provisioning.failed",
        "ppv.purchased", "session.disconnected", "order.placed"]
    assert support.get("/webhooks/events", {"type": "bogus"}).status_code == 422
    assert support.get("/webhooks/deliveries/99999").status_code == 404
