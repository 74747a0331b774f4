"""Reads of the vouchers app, for the edges."""

from __future__ import annotations

import hashlib
import hmac

from django.db.models import Count, Q, QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.vouchers.models import IvrClient, Voucher, VoucherBatch

IVR_TOKEN_PREFIX_LEN = 12


def batches() -> QuerySet[VoucherBatch]:
    """Newest first, each with ``redeemed_count``."""
    return VoucherBatch.objects.annotate(
        redeemed_count=Count("vouchers", filter=Q(vouchers__redeemed_at__isnull=False))).order_by("-id")


def batch(batch_id: int) -> VoucherBatch:
    found = batches().filter(pk=batch_id).first()
    if found is None:
        raise NotFound(f"voucher batch #{batch_id} not found")
    return found


def redemptions(*, batch_id: int | None = None, customer_id: int | None = None) -> QuerySet[Voucher]:
    """Redeemed vouchers, newest redemption first."""
    qs = Voucher.objects.filter(redeemed_at__isnull=False).select_related("batch", "customer")
    if batch_id is not None:
        qs = qs.filter(batch_id=batch_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-redeemed_at", "-id")


def ivr_clients() -> QuerySet[IvrClient]:
    return IvrClient.objects.order_by("name")


def ivr_client(client_id: int) -> IvrClient:
    found = IvrClient.objects.filter(pk=client_id).first()
    if found is None:
        raise NotFound(f"IVR client #{client_id} not found")
    return found


def ivr_client_for_token(token: str) -> IvrClient | None:
    if not token or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    for client in IvrClient.objects.filter(token_prefix=token[:IVR_TOKEN_PREFIX_LEN], is_active=True):
        if hmac.compare_digest(client.token_hash, digest):
            return client
    return None
