from django.contrib import admin

from tripleplay.bundles.models import BundleRule
from tripleplay.ledger.admin import ReadOnlyAdmin


@admin.register(BundleRule)
class BundleRuleAdmin(ReadOnlyAdmin):
    """Written by tripleplay.bundles.services only (the API and the operator UI's Bundle rules page)."""

    list_display = ["id", "name", "currency", "active_from", "active_until", "updated_at"]
    search_fields = ["name"]
