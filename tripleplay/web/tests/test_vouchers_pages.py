"""The vouchers pages: a batch created with its codes shown once (page and CSV), disabled, and its
redemptions listed, with exact rows."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import timedelta

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.vouchers.models import Voucher, VoucherBatch
from tripleplay.vouchers.services import redeem


def _created(world, login):
    client = login("finance")
    last_day = clock.today() + timedelta(days=30)
    form = client.get("/vouchers/").content.decode()
    key = re.search(r'name="key" value="([0-9a-f]+)"', form).group(1)
    response = client.post("/vouchers/new", {"name": "Shop 5", "value": "5.00", "currency": "usd", "count": "3",
                                             "expires_on": last_day.isoformat(), "key": key})
    return client, key, last_day, response


def test_a_batch_shows_its_codes_once_with_a_csv(world, login):
    client, key, last_day, response = _created(world, login)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.content.decode()
    batch = VoucherBatch.objects.get()
    assert (batch.value_minor, batch.currency, batch.count) == (500, "USD", 3)
    assert batch.expires_at.date() == last_day + timedelta(days=1) and batch.expires_at.hour == 0
    printed = re.findall(r"<code>(\d{4} \d{4} \d{4} \d{4} \d{4})</code>", body)
    assert len(printed) == 3
    link = re.search(r'href="data:text/csv;base64,([^"]+)" download="vouchers-batch-(\d+)\.csv"', body)
    rows = list(csv.reader(io.StringIO(base64.b64decode(link.group(1)).decode())))
    assert rows[0] == ["batch", "serial", "code", "value", "currency", "expires_at"]
    assert [(r[1], r[2], r[3], r[4]) for r in rows[1:]] == [(str(i), c, "5.00", "USD") for i, c in enumerate(printed, 1)]
    # the codes appear nowhere else: not on the batch page, not again on a retried form
    page = client.get(f"/vouchers/{batch.pk}/").content.decode()
    assert not any(code in page for code in printed) and "Shop 5" in page
    retry = client.post("/vouchers/new", {"name": "Shop 5", "value": "5.00", "currency": "usd", "count": "3",
                                          "expires_on": last_day.isoformat(), "key": key}, follow=True)
    assert "its codes are shown only once" in retry.content.decode()
    assert Voucher.objects.count() == 3


def test_disable_and_redemptions(world, login):
    client, _, _, response = _created(world, login)
    batch = VoucherBatch.objects.get()
    code = re.findall(r"<code>([\d ]+)</code>", response.content.decode())[0]
    redeem(Actor.system("shop"), code=code, customer=world.customer)
    listed = client.get("/vouchers/").content.decode()
    assert re.search(rf'<tr data-batch="{batch.pk}">.*?<td class="num redeemed">1</td>', listed, re.S)
    redemptions = client.get("/vouchers/redemptions/").content.decode()
    assert "Ada Lovelace" in redemptions and "$5.00" in redemptions and "system:shop" in redemptions
    disabled = client.post(f"/vouchers/{batch.pk}/disable", {"reason": "box lost"}, follow=True).content.decode()
    assert "is disabled" in disabled and "disabled" in re.search(r'id="batch-status">([^<]+)', disabled).group(1)
    batch.refresh_from_db()
    assert batch.is_active is False
    bad = client.post("/vouchers/new", {"name": "X", "value": "1.00", "currency": "USD", "count": "many",
                                        "expires_on": "2099-01-01", "key": "k"}, follow=True).content.decode()
    assert "count must be a whole number" in bad and VoucherBatch.objects.count() == 1
