"""Webhooks in the Django admin: read-only (endpoints change through the services: the API or the UI,
so that secrets are generated, encrypted and changes audited)."""

from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.webhooks.models import Cursor, Delivery, DeliveryAttempt, Endpoint, Event


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["id", "url", "enabled", "event_types", "secret_prefix", "created_at"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "uid", "type", "created_at"]
    list_filter = ["type"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code"]
    list_filter = ["status"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "delivery", "number", "started_at", "duration_ms", "status_code", "error"]


@admin.register(Cursor)
class CursorAdmin(ReadOnlyAdmin):
    list_display = ["name", "position", "updated_at"]
