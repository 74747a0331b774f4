"""The notifications pages with Django's test client: who sees which form, a template edited (a bad one
refused, nothing saved), a preview, a retry, a customer's settings."""

from __future__ import annotations

from tripleplay.customers.services import change_customer_status, update_customer
from tripleplay.notifications.models import Notification, Preference, Status, Template


def test_pages_and_forms(world, login, actor):
    admin, finance, support = login("admin"), login("finance"), login("support")
    r = support.get("/notifications/")
    assert r.status_code == 200 and r.content.count(b"<tr>") >= 38 and b"Low balance" in r.content
    t = Template.objects.get(kind="low_balance", channel="email", language="de")
    page = support.get(f"/notifications/templates/{t.pk}/").content.decode()
    assert 'id="preview"' in page and 'id="save"' not in page
    assert 'id="save"' in admin.get(f"/notifications/templates/{t.pk}/").content.decode()
    r = support.post(f"/notifications/templates/{t.pk}/preview", {"subject": "Niedrig: {{ available }}",
                                                                 "body": "Schwelle {{ threshold }}"})
    assert r.status_code == 200 and "Niedrig: 4,50\xa0€" in r.content.decode() and "Schwelle 5,00\xa0€" in r.content.decode()
    assert support.post(f"/notifications/templates/{t.pk}/update", {"subject": "x", "body": "y"}).status_code in (302, 403)
    finance.post(f"/notifications/templates/{t.pk}/update", {"subject": "x", "body": "y"})
    r = admin.post(f"/notifications/templates/{t.pk}/update", {"subject": "S", "body": "{% debug %}", "enabled": "on"},
                   HTTP_REFERER=f"/notifications/templates/{t.pk}/")
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.subject == "Ihr Guthaben ist niedrig"  # neither finance nor a bad template changed it
    r = admin.post(f"/notifications/templates/{t.pk}/update", {"subject": "Guthaben niedrig", "body": "{{ available }}"})
    t.refresh_from_db()
    assert (t.subject, t.body, t.enabled) == ("Guthaben niedrig", "{{ available }}", False)
    assert t.updated_by == "operator:web-admin"

    c = world.customer
    update_customer(actor, c, phone="+4915112345678")
    change_customer_status(actor, c, "suspended", reason="pause")
    sms = Notification.objects.get(customer=c, channel="sms")
    Notification.objects.filter(pk=sms.pk).update(status=Status.FAILED, last_error="HTTP 400 Twilio 21211: x")
    Notification.objects.filter(pk=sms.pk).update(provider_status="undelivered", provider_error_code="30003")
    page = support.get(f"/notifications/{sms.pk}/").content.decode()
    assert "Twilio 21211" in page and 'id="retry"' not in page
    assert '<dd id="provider-status">undelivered (error 30003)</dd>' in page
    assert 'id="retry"' in finance.get(f"/notifications/{sms.pk}/").content.decode()
    finance.post(f"/notifications/{sms.pk}/retry")
    sms.refresh_from_db()
    assert sms.status == "pending"

    page = support.get(f"/customers/{c.pk}/notifications/").content.decode()
    assert 'id="save-prefs"' not in page and "Your service has been suspended (pause)." in page
    r = finance.post(f"/customers/{c.pk}/notifications/settings", {"language": "de", "threshold": "12.50"})
    assert r.status_code == 302
    p = Preference.objects.get(customer=c)
    assert (p.language, p.low_balance_threshold_minor) == ("de", 1250)
    assert "$12.50" in finance.get(f"/customers/{c.pk}/notifications/").content.decode()
    finance.post(f"/customers/{c.pk}/notifications/settings", {"language": "de", "threshold": "12.505"},
                 HTTP_REFERER=f"/customers/{c.pk}/notifications/")
    p.refresh_from_db()
    assert p.low_balance_threshold_minor == 1250
    assert b'id="notifications-link"' in support.get(f"/customers/{c.pk}/").content
