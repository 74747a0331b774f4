"""Vouchers: batches (list, create with its codes shown once, disable) and redemptions."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.core.errors import InvalidInput
from tripleplay.core.validation import currency as valid_currency
from tripleplay.money import Money
from tripleplay.vouchers import selectors, services
from tripleplay.web.access import OPERATIONS, action, page
from tripleplay.web.views.common import paginate, show


def _expiry(text: str | None) -> datetime:
    """The last valid day (UTC) of a date field: the codes work until the next midnight."""
    try:
        last = date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput("valid through must be a date (YYYY-MM-DD)", details={"field": "expires_on"}) from None
    return datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def _count(text: str | None) -> int:
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise InvalidInput("count must be a whole number", details={"field": "count"})
    return int(text)


@page()
def batches(request):
    items = paginate(request, selectors.batches())
    return show(request, "vouchers/batches.html", "vouchers", batches=items, page=items,
                key=uuid.uuid4().hex)


@action(*OPERATIONS)
def batch_create(request):
    p = request.POST
    cur = valid_currency((p.get("currency") or "").strip().upper())
    created = services.create_batch(request.actor, name=p.get("name", ""), value=Money.parse(p.get("value", ""), cur),
                                    count=_count(p.get("count")), expires_at=_expiry(p.get("expires_on")),
                                    idempotency_key=p.get("key", ""))
    batch = selectors.batch(created.batch.pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["batch", "serial", "code", "value", "currency", "expires_at"])
    for c in created.codes:
        writer.writerow([batch.pk, c.serial, c.printable, Money(batch.value_minor, batch.currency).amount_text(),
                         batch.currency, batch.expires_at.isoformat()])
    # The codes exist only in this response: the CSV travels inside it (a data: link), never stored.
    csv_link = "data:text/csv;base64," + base64.b64encode(out.getvalue().encode()).decode()
    response = show(request, "vouchers/created.html", "vouchers", batch=batch, codes=created.codes, csv_link=csv_link,
                    csv_name=f"vouchers-batch-{batch.pk}.csv")
    response["Cache-Control"] = "no-store"
    return response


@action(*OPERATIONS)
def batch_disable(request, batch_id: int):
    batch = services.disable_batch(request.actor, selectors.batch(batch_id), reason=request.POST.get("reason", ""))
    messages.success(request, f"Batch {batch.name} is disabled: its unredeemed codes are refused.")
    return redirect("web:voucher_batch", batch.pk)


@page()
def batch_detail(request, batch_id: int):
    batch = selectors.batch(batch_id)
    items = paginate(request, selectors.redemptions(batch_id=batch.pk))
    return show(request, "vouchers/batch.html", "vouchers", batch=batch, redemptions=items, page=items)


@page()
def redemptions(request):
    items = paginate(request, selectors.redemptions())
    return show(request, "vouchers/redemptions.html", "vouchers", redemptions=items, page=items)
