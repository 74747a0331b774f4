"""The portal-access endpoints: read, invite, disable; roles; declared errors; nothing written on refusal."""

import pytest
from django.core import mail

from tripleplay.api.tests.conftest import error_of, new_customer
from tripleplay.audit.models import AuditEvent
from tripleplay.subscriber_access.models import PasswordToken, SubscriberLogin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_invite_read_disable(finance, support, django_capture_on_commit_callbacks):
    c = new_customer(email="ada@example.net")
    r = support.get(f"/customers/{c.pk}/portal")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    with django_capture_on_commit_callbacks(execute=True):
        r = finance.post(f"/customers/{c.pk}/portal/invite")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["customer_id"] == c.pk and body["status"] == "invited" and body["open_sessions"] == 0
    assert body["invited_at"] == "2026-03-10T12:00:00Z" and body["last_login_at"] is None
    assert len(mail.outbox) == 1 and "/my/password/" in mail.outbox[0].body
    assert support.get(f"/customers/{c.pk}/portal").json()["status"] == "invited"
    r = finance.post(f"/customers/{c.pk}/portal/disable", {"reason": "asked by phone"})
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert not PasswordToken.objects.filter(customer=c, used_at__isnull=True).exists()
    r = finance.post(f"/customers/{c.pk}/portal/disable", {"reason": "again"})
    assert r.status_code == 409 and error_of(r)["code"] == "already_disabled"


def test_refusals_write_nothing(finance, support):
    no_mail = new_customer(email="")
    before = AuditEvent.objects.count()
    r = finance.post(f"/customers/{no_mail.pk}/portal/invite")
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "email"}
    r = support.post(f"/customers/{no_mail.pk}/portal/invite")
    assert r.status_code == 403
    r = finance.post("/customers/999999/portal/invite")
    assert r.status_code == 404
    r = finance.post(f"/customers/{no_mail.pk}/portal/disable", {"reason": "x"})
    assert r.status_code == 404  # never invited
    r = finance.post(f"/customers/{no_mail.pk}/portal/disable", {"reason": "a\u0000b"})
    assert r.status_code == 422
    assert AuditEvent.objects.count() == before and SubscriberLogin.objects.count() == 0


def test_openapi_declares_the_errors(support):
    schema = support.get("/openapi.json").json()
    invite = schema["paths"]["/api/v1/customers/{customer_id}/portal/invite"]["post"]["responses"]
    assert {"200", "404", "409", "422"} <= set(invite)
    schema_404 = invite["404"]["content"]["application/json"]["schema"]
    assert "#/components/schemas/Error" in {s["$ref"] for s in schema_404.get("anyOf", [schema_404])}


def test_self_service_flag_through_the_catalog_api(admin, api_catalog):
    r = admin.patch(f"/products/{api_catalog['sports'].pk}", {"self_service": True})
    assert r.status_code == 200 and r.json()["self_service"] is True
    r = admin.patch(f"/products/{api_catalog['basic'].pk}", {"self_service": True})
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "self_service"}
