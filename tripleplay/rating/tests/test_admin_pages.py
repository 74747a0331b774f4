"""The rating models' admin pages render with data in them (core's admin test has no rated xDRs)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tripleplay.rating.models import AllowanceUsage, Rate, RateTable, Xdr
from tripleplay.rating.services import ingest

from .conftest import call


def test_rating_admin_pages_render(world, actor):
    ingest(actor, [call("a1", seconds=700), call("a2", caller="15550009")])
    user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password")
    client = Client()
    client.force_login(user)
    for model in (RateTable, Rate, Xdr, AllowanceUsage):
        name = model._meta.model_name
        assert client.get(reverse(f"admin:rating_{name}_changelist")).status_code == 200
        for obj in model.objects.all()[:3]:
            assert client.get(reverse(f"admin:rating_{name}_change", args=[obj.pk])).status_code == 200, name
