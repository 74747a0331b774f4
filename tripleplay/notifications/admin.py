"""Notifications in the Django admin: read-only (templates, preferences and retries change through the
services: the API or the UI, so that templates are checked and changes audited)."""

from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.notifications.models import Notification, Preference, Template


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "channel", "language", "enabled", "updated_at"]
    list_filter = ["kind", "channel", "language"]


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ["customer", "language", "low_balance_threshold_minor", "low_balance_armed"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "kind", "channel", "recipient", "status", "provider_status", "attempts",
                    "created_at"]
    list_filter = ["status", "provider_status", "channel", "kind"]
