"""IPTV in the Django admin (the interim operator tool). Configuration goes through the services
(the API or `tripleplay add-platform`) so that secrets are encrypted and changes audited; here
platforms, packages and the provisioning queue are shown, read-only where the services own them."""

from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.iptv.models import (
    ChannelPackage,
    Platform,
    PpvEvent,
    PpvGrant,
    ProductPackage,
    ProvisioningCommand,
    Subscriber,
)


@admin.register(Platform)
class PlatformAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "base_url", "enabled", "created_at"]
    list_filter = ["kind", "enabled"]
    exclude = ["secret_encrypted", "inbound_token_hash", "inbound_token_prefix"]


@admin.register(ChannelPackage)
class ChannelPackageAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "name", "platform", "kind", "status", "updated_at"]
    list_filter = ["platform", "kind", "status"]
    search_fields = ["external_id", "name"]


@admin.register(ProductPackage)
class ProductPackageAdmin(ReadOnlyAdmin):
    list_display = ["product", "package", "created_at"]


@admin.register(PpvEvent)
class PpvEventAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "title", "platform", "price_minor", "currency", "status", "origin"]
    list_filter = ["platform", "status", "origin"]
    search_fields = ["external_id", "title", "content_owner"]


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "account", "platform", "status", "desired_enabled", "applied_enabled",
                    "attempts", "next_attempt_at", "updated_at"]
    list_filter = ["platform", "status"]
    search_fields = ["external_id", "account__login"]


@admin.register(ProvisioningCommand)
class ProvisioningCommandAdmin(ReadOnlyAdmin):
    list_display = ["id", "subscriber", "event", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "event"]
    search_fields = ["subscriber__external_id", "idempotency_key"]


@admin.register(PpvGrant)
class PpvGrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "subscriber", "event", "purchase_ref", "status", "attempts", "next_attempt_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["purchase_ref", "idempotency_key"]
