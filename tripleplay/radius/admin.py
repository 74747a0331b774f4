"""Internet access in the Django admin (the interim operator tool): shown read-only. NAS clients,
internet attributes and passwords change through the services (the API or the Internet page), so that
secrets are encrypted and changes audited; sessions and the Disconnect outbox are written by
FreeRADIUS's calls and the worker."""

from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.radius.models import (
    InternetLogin,
    InternetService,
    NasClient,
    NasCommand,
    NetworkSession,
    ReplyAttribute,
)


@admin.register(NasClient)
class NasClientAdmin(ReadOnlyAdmin):
    list_display = ["name", "address", "vendor", "coa_port", "enabled", "updated_at"]
    list_filter = ["vendor", "enabled"]
    exclude = ["secret_encrypted"]


@admin.register(InternetService)
class InternetServiceAdmin(ReadOnlyAdmin):
    list_display = ["product", "download_kbps", "upload_kbps", "address_pool", "interim_interval_seconds"]


@admin.register(InternetLogin)
class InternetLoginAdmin(ReadOnlyAdmin):
    list_display = ["account", "customer", "last_auth_at", "last_nas"]
    exclude = ["password_encrypted", "password_ssha512"]


@admin.register(ReplyAttribute)
class ReplyAttributeAdmin(ReadOnlyAdmin):
    """What the SQL path answers per product and vendor (D271), written by set_internet_service."""

    list_display = ["product", "vendor", "position", "attribute", "value"]
    list_filter = ["vendor"]


@admin.register(NetworkSession)
class NetworkSessionAdmin(ReadOnlyAdmin):
    list_display = ["username", "nas", "acct_session_id", "status", "framed_ip", "input_octets", "output_octets",
                    "session_time_seconds", "started_at", "stopped_at"]
    list_filter = ["status", "nas"]
    search_fields = ["username", "acct_session_id"]


@admin.register(NasCommand)
class NasCommandAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "nas", "session", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "kind"]
