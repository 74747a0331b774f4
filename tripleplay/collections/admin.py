from django.contrib import admin

from tripleplay.collections.models import CollectionAction
from tripleplay.core.admin_base import ReadOnlyAdmin


@admin.register(CollectionAction)
class CollectionActionAdmin(ReadOnlyAdmin):
    """Written by tripleplay.collections.services only: the collections history of each customer."""

    list_display = ["at", "customer", "invoice", "day", "action", "outcome", "detail"]
    list_filter = ["action", "outcome"]
