"""The notifications API: kinds, templates (admins edit, a bad template is 422 and changes nothing,
preview), the outbox with a retry of a dead letter, a customer's preferences."""

from __future__ import annotations

from tripleplay.api.tests.conftest import SYSTEM, error_of
from tripleplay.customers.services import change_customer_status, create_customer
from tripleplay.notifications.models import Notification, Status, Template


def customer(**kw):
    return create_customer(SYSTEM, name="Ann", currency="USD", balance_model="prepaid", email="ann@example.com",
                           phone="+4915112345678", **kw)


def test_kinds_and_templates(support, admin):
    kinds = {k["code"]: k for k in support.get("/notifications/kinds").json()}
    assert kinds["trial_ending"]["wired"] is True and kinds["invoice_issued"]["channels"] == ["email", "sms"]
    assert kinds["low_balance"]["variables"] == ["customer_name", "available", "threshold"]
    r = support.get("/notifications/templates", {"kind": "low_balance", "channel": "sms"}).json()
    assert [(t["language"], t["body"]) for t in r["items"]] == [
        ("de", "Ihr Guthaben beträgt {{ available }}, unter {{ threshold }}. Bitte laden Sie auf."),
        ("en", "Your balance is {{ available }}, below {{ threshold }}. Please top up.")]


def test_admin_edits_a_template_and_previews_it(admin, finance):
    t = Template.objects.get(kind="low_balance", channel="sms", language="en")
    r = finance.patch(f"/notifications/templates/{t.pk}", {"body": "x"})
    assert r.status_code == 403
    r = admin.post(f"/notifications/templates/{t.pk}/preview", {"body": "Low: {{ available }} (< {{ threshold }})"})
    assert r.status_code == 200, r.content
    assert r.json()["body"] == "Low: €4.50 (< €5.00)" and r.json()["sample"]["available"] == "4.50 EUR"
    r = admin.patch(f"/notifications/templates/{t.pk}", {"body": "{% load static %}"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_template"
    r = admin.patch(f"/notifications/templates/{t.pk}", {"subject": "SMS have none"})
    assert r.status_code == 422
    t.refresh_from_db()
    assert t.body.startswith("Your balance is") and t.updated_by == ""
    r = admin.patch(f"/notifications/templates/{t.pk}", {"body": "Low: {{ available }}", "enabled": False})
    assert r.status_code == 200 and r.json()["body"] == "Low: {{ available }}" and r.json()["enabled"] is False
    assert admin.get("/notifications/templates/999999").status_code == 404


def test_outbox_and_retry(support, finance):
    c = customer()
    change_customer_status(SYSTEM, c, "suspended", reason="pause")
    r = support.get("/notifications", {"customer_id": c.pk}).json()
    assert [(n["kind"], n["channel"], n["status"]) for n in r["items"]] == [
        ("suspended", "sms", "pending"), ("suspended", "email", "pending")]
    sms = Notification.objects.get(channel="sms")
    assert finance.post(f"/notifications/{sms.pk}/retry").status_code == 409
    Notification.objects.filter(pk=sms.pk).update(status=Status.FAILED, last_error="HTTP 400 Twilio 21211", attempts=1)
    assert support.post(f"/notifications/{sms.pk}/retry").status_code == 403
    r = finance.post(f"/notifications/{sms.pk}/retry")
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"], r.json()["last_error"]) == ("pending", 0, "")
    assert support.get("/notifications", {"status": "failed"}).json()["items"] == []


def test_preferences(support, finance):
    c = customer()
    assert support.get(f"/customers/{c.pk}/notification-preferences").json() == {
        "customer_id": c.pk, "language": "", "low_balance_threshold_minor": None, "low_balance_armed": True}
    r = finance.patch(f"/customers/{c.pk}/notification-preferences", {"language": "de", "low_balance_threshold_minor": 500})
    assert r.json() == {"customer_id": c.pk, "language": "de", "low_balance_threshold_minor": 500, "low_balance_armed": True}
    prefs = f"/customers/{c.pk}/notification-preferences"
    assert finance.patch(prefs, {"language": "fr"}).status_code == 422
    assert finance.patch(prefs, {"low_balance_threshold_minor": -1}).status_code == 422
    r = finance.patch(f"/customers/{c.pk}/notification-preferences", {"low_balance_threshold_minor": None})
    assert r.json()["low_balance_threshold_minor"] is None and r.json()["language"] == "de"
    assert support.patch(f"/customers/{c.pk}/notification-preferences", {"language": "en"}).status_code == 403
    assert support.get("/customers/999999/notification-preferences").status_code == 404
