"""Portal access in the admin: read-only (every write goes through the services, with its audit
event); password hashes and link/session digests are never shown."""

from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.subscriber_access.models import LoginFailure, PasswordToken, PortalSession, SubscriberLogin


@admin.register(SubscriberLogin)
class SubscriberLoginAdmin(ReadOnlyAdmin):
    list_display = ("customer", "status", "language", "invited_at", "password_set_at", "last_login_at")
    list_filter = ("status",)
    exclude = ("password",)


@admin.register(PasswordToken)
class PasswordTokenAdmin(ReadOnlyAdmin):
    list_display = ("customer", "purpose", "created_at", "expires_at", "used_at")
    exclude = ("digest",)


@admin.register(PortalSession)
class PortalSessionAdmin(ReadOnlyAdmin):
    list_display = ("customer", "created_at", "last_seen_at", "expires_at", "ended_at", "address")
    exclude = ("digest",)


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyAdmin):
    list_display = ("identity", "address", "at")
