"""The Django admin is the interim operator tool: every model is registered, and every list and
detail page renders for an admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tripleplay.core.actors import Actor
from tripleplay.customers.services import create_account, create_customer
from tripleplay.ledger.services import place_hold, record_payment
from tripleplay.money import Money


def tripleplay_models():
    return [m for m in apps.get_models() if m.__module__.startswith("tripleplay.")]


def test_every_tripleplay_model_is_in_the_admin():
    missing = [m.__name__ for m in tripleplay_models() if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.django_db
def test_every_admin_page_renders(catalog):
    actor = Actor.system("test")
    customer = create_customer(actor, name="Admin Page", currency="USD", balance_model="postpaid",
                               credit_limit_minor=1000)
    create_account(actor, customer, main_plan=catalog.tv_plan, login="admin-page")
    record_payment(actor, customer, Money(500, "USD"), idempotency_key="admin-page-1")
    place_hold(actor, customer, Money(100, "USD"), idempotency_key="admin-page-hold")
    user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password")
    client = Client()
    client.force_login(user)
    for model in tripleplay_models():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        obj = model.objects.first()
        if obj is not None:
            r = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
            assert r.status_code == 200, (meta.model_name, r.status_code)


def test_service_owned_rows_are_read_only_in_the_admin(rf):
    from tripleplay.audit.models import AuditEvent
    from tripleplay.iptv.models import ProvisioningCommand
    from tripleplay.ledger.models import LedgerEntry
    from tripleplay.orders.models import TvOrder, TvOrderable
    from tripleplay.ppv.models import PpvPurchase
    from tripleplay.radius.models import NasClient, NasCommand, NetworkSession
    from tripleplay.rating.models import Xdr
    from tripleplay.sessions.models import ChargingSession

    request = rf.get("/admin/")
    for model in (LedgerEntry, AuditEvent, ProvisioningCommand, PpvPurchase, Xdr, NasClient, NetworkSession, NasCommand,
                  ChargingSession, TvOrder, TvOrderable):
        model_admin = admin.site._registry[model]
        assert (model_admin.has_add_permission(request), model_admin.has_change_permission(request),
                model_admin.has_delete_permission(request)) == (False, False, False), model.__name__
