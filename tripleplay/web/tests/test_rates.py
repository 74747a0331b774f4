"""Rate tables managed from the browser: an admin creates a table, sets a rate with an off-peak price
and a peak window, and usage is then rated by exactly those terms. Bad input is a message, nothing
written."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.customers.services import create_account
from tripleplay.rating.models import Rate, RateTable
from tripleplay.rating.services import ingest


def test_admin_sets_up_a_rate_table_and_usage_is_rated_by_it(world, login, actor):
    client = login("admin")
    net = world.cat.internet_plan.product
    r = client.post("/catalog/rate-tables/new", {"product_id": net.pk, "service_type": "data", "name": "Data rates"})
    assert r.status_code == 302
    table = RateTable.objects.get(product=net, service_type="data")
    assert (table.name, table.currency) == ("Data rates", "USD")

    r = client.post(f"/catalog/rate-tables/{table.pk}/rates", {
        "prefix": "", "description": "all traffic", "price": "1.25", "connection_fee": "0",
        "first_increment": "1", "next_increment": "1", "offpeak_price": "0.5"})
    assert r.status_code == 302
    rate = Rate.objects.get(table=table, prefix="")
    assert (rate.price_per_unit_micros, rate.connection_fee_micros, rate.offpeak_price_per_unit_micros,
            rate.offpeak_connection_fee_micros, rate.description) == (1_250_000, 0, 500_000, None, "all traffic")

    r = client.post(f"/catalog/rate-tables/{table.pk}/peak", {"start": "08:00", "end": "20:00",
                                                               "weekdays": ["1", "2", "3", "4", "5"],
                                                               "time_zone": "UTC"})
    assert r.status_code == 302
    table.refresh_from_db()
    assert (table.peak_start, table.peak_end, table.peak_weekdays, table.time_zone) == (
        time(8), time(20), "12345", "UTC")
    page = client.get("/catalog/rate-tables/").content.decode()
    assert "Peak 08:00–20:00 on ISO weekdays 12345 (UTC)" in page and "1.25" in page and "0.50" in page

    create_account(actor, world.customer, main_plan=world.cat.internet_plan, login="ada-net")
    today = clock.today()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    clock.freeze(datetime.combine(max(tuesday, saturday) + timedelta(days=1), time(9), tzinfo=UTC))
    results = ingest(actor, [
        # 2,000 KB = 2 MB: a Tuesday at noon is peak (2 x 1.25), a Saturday off-peak (2 x 0.50).
        {"id": "d-peak", "service_type": "data", "login": "ada-net", "bytes": 2_000_000,
         "started_at": f"{tuesday.isoformat()}T12:00:00Z"},
        {"id": "d-off", "service_type": "data", "login": "ada-net", "bytes": 2_000_000,
         "started_at": f"{saturday.isoformat()}T12:00:00Z"},
    ])
    assert [(x.status, x.cost_minor, x.error_reason) for x in results] == [("rated", 250, ""), ("rated", 100, "")]

    client.post(f"/catalog/rate-tables/{table.pk}/peak", {"remove": "1"})
    table.refresh_from_db()
    assert (table.peak_start, table.peak_end) == (None, None)


def test_bad_rates_are_refused_with_a_message_and_change_nothing(world, login):
    client = login("admin")
    net = world.cat.internet_plan.product
    client.post("/catalog/rate-tables/new", {"product_id": net.pk, "service_type": "data", "name": "Data"})
    table = RateTable.objects.get(product=net)
    before = (Rate.objects.count(), AuditEvent.objects.count())
    for form, message in [
        ({"price": "0.0000001"}, "price must be 0 or more with at most six decimals"),
        ({"price": "-1"}, "price must be 0 or more with at most six decimals"),
        ({"price": "abc"}, "price: &#x27;abc&#x27; is not a number"),
        ({}, "price is required"),
        ({"price": "1", "first_increment": "1.5"}, "first increment must be a whole number of units"),
        ({"price": "1", "prefix": "12a"}, "prefix"),
    ]:
        r = client.post(f"/catalog/rate-tables/{table.pk}/rates", form, follow=True)
        assert message in r.content.decode(), form
    assert (Rate.objects.count(), AuditEvent.objects.count()) == before
    r = client.post("/catalog/rate-tables/new", {"product_id": world.cat.tv_plan.product.pk, "service_type": "voice",
                                                 "name": "No voice here"}, follow=True)
    assert "has no voice service" in r.content.decode()
    assert RateTable.objects.count() == 1
    r = client.post(f"/catalog/rate-tables/{table.pk}/peak", {"start": "20:00", "end": "08:00"}, follow=True)
    assert "start &lt; end" in r.content.decode()


def test_a_rate_with_a_next_interval_price_from_the_form(world, login, actor):
    from tripleplay.rating.services import create_rate_table

    table = create_rate_table(actor, world.cat.internet_plan.product, service_type="data", name="Data")
    client = login("admin")
    r = client.post(f"/catalog/rate-tables/{table.pk}/rates", {
        "prefix": "", "price": "0.05", "next_price": "0.01", "first_increment": "1000", "next_increment": "100",
        "offpeak_next_price": "0.005"})
    assert r.status_code == 302
    rate = Rate.objects.get(table=table, prefix="")
    assert (rate.price_per_unit_micros, rate.next_price_per_unit_micros, rate.offpeak_next_price_per_unit_micros,
            rate.first_increment, rate.next_increment) == (50_000, 10_000, 5_000, 1000, 100)
    page = client.get("/catalog/rate-tables/").content.decode()
    assert '<td class="num next">0.01</td>' in page
    bad = client.post(f"/catalog/rate-tables/{table.pk}/rates", {"prefix": "", "price": "0.05", "next_price": "x"},
                      follow=True).content.decode()
    assert "not a number" in bad
    rate.refresh_from_db()
    assert rate.next_price_per_unit_micros == 10_000
