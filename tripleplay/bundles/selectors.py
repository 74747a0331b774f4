"""Reads of bundle rules."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.bundles.models import BundleRule
from tripleplay.core.errors import NotFound


def rules() -> QuerySet[BundleRule]:
    return BundleRule.objects.order_by("id")


def rule(rule_id: int) -> BundleRule:
    found = BundleRule.objects.filter(pk=rule_id).first()
    if found is None:
        raise NotFound(f"bundle rule {rule_id} not found", code="not_found")
    return found
