from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.vouchers.models import FailedRedemption, IvrClient, Voucher, VoucherBatch


@admin.register(VoucherBatch)
class VoucherBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "value_minor", "currency", "count", "expires_at", "is_active", "created_at"]
    exclude = ["request_fingerprint"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    """The code's hash is not shown: it is of no use to a person, and less exposure is better."""

    list_display = ["id", "batch", "serial", "redeemed_at", "customer", "channel"]
    exclude = ["code_hash"]
    list_filter = ["channel"]


@admin.register(IvrClient)
class IvrClientAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "token_prefix", "is_active", "created_at", "last_used_at"]
    exclude = ["token_hash"]


@admin.register(FailedRedemption)
class FailedRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "scope", "reason", "at"]
