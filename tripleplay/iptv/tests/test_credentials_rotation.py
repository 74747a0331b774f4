"""Rotating the key that encrypts platform credentials (iptv/secrets.py, `tripleplay rotate-credentials`)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.iptv import secrets
from tripleplay.iptv.configuration import create_platform
from tripleplay.iptv.models import Platform

pytestmark = pytest.mark.django_db
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def platform(code: str, secret: str) -> Platform:
    return create_platform(Actor.system("test"), code=code, name=code, kind="ministra",
                           base_url="http://127.0.0.1:9/", username="u", secret=secret)


def test_new_key_in_front_then_rotate_then_drop_the_old_one(monkeypatch, capsys):
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", OLD)
    a, b = platform("a", "alpha"), platform("b", "beta")
    platform("c", "")  # no secret: nothing to rotate
    before = Platform.objects.get(pk=a.pk).secret_encrypted
    assert Fernet(OLD.encode()).decrypt(before.encode()) == b"alpha"

    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", f"{NEW},{OLD}")
    assert secrets.decrypt(before) == "alpha"  # the old key still decrypts
    call_command("rotate-credentials")
    assert "2 platform secret(s), 0 NAS secret(s), 0 internet password(s) and 0 webhook endpoint(s)" in \
        capsys.readouterr().out

    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", NEW)
    stored = {p.code: p.secret_encrypted for p in Platform.objects.all()}
    assert {code: secrets.decrypt(token) for code, token in stored.items()} == {"a": "alpha", "b": "beta", "c": ""}
    assert Fernet(NEW.encode()).decrypt(stored["b"].encode()) == b"beta"
    assert sorted(AuditEvent.objects.filter(action="platform.credentials_rotated").values_list("object_id", flat=True)) \
        == sorted([str(a.pk), str(b.pk)])


def test_the_key_derived_from_the_secret_key_rotates_to_a_configured_one(monkeypatch):
    monkeypatch.delenv("TRIPLEPLAY_CREDENTIALS_KEY", raising=False)
    p = platform("d", "delta")
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", NEW)
    call_command("rotate-credentials")
    assert Fernet(NEW.encode()).decrypt(Platform.objects.get(pk=p.pk).secret_encrypted.encode()) == b"delta"


def test_an_unreadable_secret_stops_the_rotation_and_changes_nothing(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", OLD)
    platform("e", "echo")
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", OLD)
    platform("f", "foxtrot")
    Platform.objects.filter(code="f").update(secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode())
    before = dict(Platform.objects.values_list("code", "secret_encrypted"))
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", f"{NEW},{OLD}")
    with pytest.raises(CommandError, match=f"platform {Platform.objects.get(code='f').pk}: secret_encrypted"):
        call_command("rotate-credentials")
    assert dict(Platform.objects.values_list("code", "secret_encrypted")) == before


def test_nas_secrets_internet_passwords_and_webhook_secrets_rotate_too(monkeypatch, actor, catalog, make_customer):
    from tripleplay.customers.services import create_account
    from tripleplay.radius import selectors as radius_selectors
    from tripleplay.radius import services as radius
    from tripleplay.radius.models import InternetLogin, NasClient
    from tripleplay.webhooks.models import Endpoint
    from tripleplay.webhooks.services import create_endpoint

    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", OLD)
    nas = radius.create_nas(actor, name="bras", address="192.0.2.1", secret="nas-secret", vendor="mikrotik")
    account = create_account(actor, make_customer(), main_plan=catalog.internet_plan, login="net1")
    radius.set_internet_password(actor, account, "net-password")
    created = create_endpoint(actor, url="https://crm.example.net/hook", event_types=["payment.recorded"])
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", f"{NEW},{OLD}")
    call_command("rotate-credentials")
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", NEW)  # the old key gone: everything still opens
    new = Fernet(NEW.encode())
    assert new.decrypt(NasClient.objects.get(pk=nas.pk).secret_encrypted.encode()) == b"nas-secret"
    assert new.decrypt(InternetLogin.objects.get(account=account).password_encrypted.encode()) == b"net-password"
    assert new.decrypt(Endpoint.objects.get(pk=created.endpoint.pk).secret_encrypted.encode()).decode() == created.secret
    assert radius_selectors.nas_secret(NasClient.objects.get(pk=nas.pk)) == "nas-secret"



def test_the_inbound_signing_secret_rotates_with_the_platform(monkeypatch):
    """TVIP TMS's billing token (the platform's inbound_secret, D230) is kept encrypted like the secret."""
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", OLD)
    p = create_platform(Actor.system("test"), code="tms", name="tms", kind="tvip", base_url="http://127.0.0.1:9/",
                        username="u", secret="", inbound_secret="billing-token")
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", f"{NEW},{OLD}")
    call_command("rotate-credentials")
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY", NEW)
    stored = Platform.objects.get(pk=p.pk)
    assert stored.secret_encrypted == ""
    assert Fernet(NEW.encode()).decrypt(stored.inbound_secret_encrypted.encode()) == b"billing-token"
