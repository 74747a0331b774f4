"""Catalog, platforms, reports, dashboard and error pages, with exact outcomes."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta

from tripleplay import clock
from tripleplay.iptv.models import ChannelPackage, Platform, Subscriber
from tripleplay.iptv.tests.conftest import drain
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money
from tripleplay.simulators.base import DEFAULT_PACKAGES


def test_package_import_shows_the_diff_before_applying_it(world, login, ministra):
    ministra.set_packages([*DEFAULT_PACKAGES[:3], {"external_id": "docs", "name": "Documentaries", "kind": "channel",
                                                   "channels": ["doc-1"]}, DEFAULT_PACKAGES[4]])
    client = login("admin")
    preview = client.post(f"/catalog/packages/import/{world.platform.pk}")
    body = preview.content.decode()
    assert preview.status_code == 200 and "preview" in body
    assert "+ new: docs" in body and "− retired: kids" in body and "Apply these changes" in body
    assert not ChannelPackage.objects.filter(external_id="docs").exists()
    assert ChannelPackage.objects.get(platform=world.platform, external_id="kids").status == "active"
    applied = client.post(f"/catalog/packages/import/{world.platform.pk}", {"apply": "1"})
    assert applied.status_code == 200 and "applied" in applied.content.decode()
    assert ChannelPackage.objects.get(platform=world.platform, external_id="docs").name == "Documentaries"
    assert ChannelPackage.objects.get(platform=world.platform, external_id="kids").status == "retired"


def test_reconcile_reports_drift_and_repairs_it(world, login, ministra):
    ministra.delete_subscriber(world.subscriber.external_id)
    client = login("admin")
    report = client.post(f"/platforms/{world.platform.pk}/reconcile").content.decode()
    assert "missing" in report and world.subscriber.external_id in report and "Repair: queue the fixes" in report
    repaired = client.post(f"/platforms/{world.platform.pk}/reconcile", {"repair": "1"})
    assert "1 subscriber(s) queued for repair on ministra." in repaired.content.decode()
    drain()
    assert sorted(ministra.subscribers()[world.subscriber.external_id]["packages"]) == ["basic", "sports"]
    clean = client.post(f"/platforms/{world.platform.pk}/reconcile").content.decode()
    assert "No drift: the platform matches billing." in clean


def test_connection_test_says_whether_it_worked(world, login, actor):
    from tripleplay.iptv.configuration import create_platform

    client = login("finance")
    ok = client.post(f"/platforms/{world.platform.pk}/test")
    assert "Connection to ministra works." in client.get(ok["Location"]).content.decode()
    dead = create_platform(actor, code="dead", name="Dead", kind="ministra", base_url="http://127.0.0.1:9/",
                           username="u", secret="s", timeout_seconds="1")
    failed = client.post(f"/platforms/{dead.pk}/test")
    assert "Connection to dead failed:" in client.get(failed["Location"]).content.decode()


def test_platform_configuration_keeps_the_secret_unless_replaced(world, login):
    client = login("admin")
    stored = Platform.objects.get(pk=world.platform.pk).secret_encrypted
    client.post(f"/platforms/{world.platform.pk}/update", {"name": "Ministra TV", "base_url": world.platform.base_url,
                                                          "username": "tripleplay", "timeout_seconds": "3"})
    p = Platform.objects.get(pk=world.platform.pk)
    assert (p.name, p.timeout_seconds, p.enabled, p.secret_encrypted) == ("Ministra TV", 3, False, stored)
    assert "stored; type to replace" in client.get(f"/platforms/{p.pk}/").content.decode()


def test_a_tvip_platform_page_sets_the_billing_api_token(world, login):
    from tripleplay.iptv.configuration import inbound_secret

    client = login("admin")
    Platform.objects.filter(pk=world.platform.pk).update(kind="tvip")
    page = client.get(f"/platforms/{world.platform.pk}/").content.decode()
    assert 'name="inbound_secret"' in page and f"/tvip/v1/{world.platform.code}/billing" in page
    form = {"name": "TMS", "base_url": world.platform.base_url, "username": "tripleplay", "timeout_seconds": "3",
            "enabled": "on"}
    client.post(f"/platforms/{world.platform.pk}/update", {**form, "inbound_secret": "tms-token"})
    assert inbound_secret(Platform.objects.get(pk=world.platform.pk)) == "tms-token"
    client.post(f"/platforms/{world.platform.pk}/update", form)  # blank keeps it
    assert inbound_secret(Platform.objects.get(pk=world.platform.pk)) == "tms-token"
    assert "tms-token" not in client.get(f"/platforms/{world.platform.pk}/").content.decode()


def test_queue_filters(world, login, ministra):
    ministra.set_faults(error_rate=1.0)
    client = login("support")
    client_ops = login("finance")
    client_ops.post(f"/accounts/{world.account.pk}/addons", {"plan_id": world.cat.kids_plan.pk})
    queued = client.get("/platforms/queue/?queued=1").content.decode()
    assert world.subscriber.external_id in queued and "Account/ProductAddon/Inserted" in queued
    assert "Nothing matches." in client.get("/platforms/queue/?status=failed").content.decode()


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_reports_and_their_csv(world, login, actor):
    clock.freeze(datetime(2026, 3, 10, 12, tzinfo=UTC))
    post_charge(actor, world.customer, Money(1500, "USD"), description="TV March", idempotency_key="c-tv",
                service_type="iptv")
    post_charge(actor, world.customer, Money(250, "USD"), description="calls", idempotency_key="c-voice",
                service_type="voice")
    # A bulk-rated chunk's one charge for calls and messages counts under each service; tax is not revenue.
    post_charge(actor, world.customer, Money(170, "USD"), description="usage", idempotency_key="c-bulk",
                source="usage", data={"services": {"voice": {"count": 2, "cost_minor": 120},
                                                   "messaging": {"count": 5, "cost_minor": 50}}})
    post_charge(actor, world.customer, Money(300, "USD"), description="Tax 20%", idempotency_key="c-tax",
                source="tax")
    client = login("support")
    today = clock.today().isoformat()
    revenue = _csv(client.get(f"/reports/?from={today}&to={today}&report=revenue&format=csv"))
    assert revenue == [["service", "currency", "amount", "entries"], ["iptv", "USD", "15.00", "1"],
                       ["voice", "USD", "3.70", "2"], ["messaging", "USD", "0.50", "1"]]
    packages = _csv(client.get(f"/reports/?from={today}&to={today}&report=packages&format=csv"))
    assert packages[0] == ["day", "platform", "package", "name", "subscribers"]
    assert sorted(packages[1:]) == sorted([
        [today, "ministra", "basic", "Basic TV", "0"], [today, "ministra", "kids", "Kids Pack", "0"],
        [today, "ministra", "movies", "Movies Pack", "0"], [today, "ministra", "sports", "Sports Pack", "0"]])
    page = client.get("/reports/?from=2026-03-10&to=2026-03-09")
    assert "The end date is before the start date" in page.content.decode()
    bad = client.get("/reports/?from=yesterday")
    assert "yesterday&#x27; is not a date (YYYY-MM-DD)" in bad.content.decode()


def test_package_subscribers_count_each_day_an_account_had_the_package(world, login, actor):
    from tripleplay.customers.services import remove_addon

    start = world.account.products.get(plan=world.cat.sports_plan).start_date
    clock.freeze(datetime.combine(start, time(12), tzinfo=UTC))
    sports = world.account.products.get(plan=world.cat.sports_plan)
    remove_addon(actor, world.account, sports.pk, end_date=start + timedelta(days=2))
    rows = _csv(login("admin").get(f"/reports/?from={start}&to={start + timedelta(days=3)}&report=packages&format=csv"
                                   f"&platform={world.platform.pk}"))
    sports_rows = [r[4] for r in rows[1:] if r[2] == "sports"]
    basic_rows = [r[4] for r in rows[1:] if r[2] == "basic"]
    assert sports_rows == ["1", "1", "0", "0"] and basic_rows == ["1", "1", "1", "1"]


def test_dashboard(world, login, actor, make_customer):
    c = make_customer(name="Blocked one")
    from tripleplay.customers.services import change_customer_status

    change_customer_status(actor, c, "blocked", reason="fraud")
    post_charge(actor, world.customer, Money(1500, "USD"), description="TV", idempotency_key="d-tv",
                service_type="iptv")
    body = login("support").get("/").content.decode()
    assert '<a href="/customers/?status=active">1</a>' in body and '<a href="/customers/?status=blocked">1</a>' in body
    assert "<svg" in body and "iptv (USD)" in body and "$15.00" in body
    assert '<a href="/platforms/queue/?platform=ministra">ministra</a>' in body
    assert Subscriber.objects.filter(status="ok").count() == 1


def test_error_pages_never_show_a_trace(world, login, monkeypatch):
    client = login("admin")
    missing = client.get("/customers/999999/")
    assert missing.status_code == 404 and b"customer 999999 does not exist" in missing.content
    assert client.get("/no/such/page/").status_code == 404
    from tripleplay.web.views import home

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(home.web_selectors, "customers_by_status", boom)
    client.raise_request_exception = False
    broken = client.get("/")
    assert broken.status_code == 500
    assert b"Something went wrong" in broken.content
    assert b"secret internals" not in broken.content and b"Traceback" not in broken.content


def test_a_refused_action_returns_to_the_page_it_came_from_with_the_message(world, login):
    client = login("admin")
    form = {"code": "tv", "name": "Again", "kind": "main", "currency": "USD", "services": ["iptv"]}
    response = client.post("/catalog/products/new", form, HTTP_REFERER="http://testserver/catalog/")
    assert response["Location"] == "http://testserver/catalog/"
    page = client.get("/catalog/").content.decode()
    assert "a product with code &#x27;tv&#x27; exists" in page
    elsewhere = client.post("/catalog/products/new", form, HTTP_REFERER="http://evil.example/x")
    assert elsewhere["Location"] == "/"  # never back to another site


def test_channel_packages_are_linked_unlinked_and_sold_as_add_ons(world, login):
    from tripleplay.catalog.models import Product
    from tripleplay.iptv.models import ProductPackage

    client = login("admin")
    vod = ChannelPackage.objects.get(platform=world.platform, external_id="vod-plus")
    linked = client.post(f"/catalog/packages/{vod.pk}/link", {"product_id": world.cat.basic.pk})
    assert "now grants VOD Plus" in client.get(linked["Location"]).content.decode()
    assert ProductPackage.objects.filter(package=vod, product=world.cat.basic).exists()
    client.post(f"/catalog/packages/{vod.pk}/link", {"product_id": world.cat.basic.pk, "unlink": "1"})
    assert not ProductPackage.objects.filter(package=vod, product=world.cat.basic).exists()
    sold = client.post(f"/catalog/packages/{vod.pk}/sell", {"code": "vod", "price": "3.50", "currency": "USD"})
    assert "is now sold as the add-on vod" in client.get(sold["Location"]).content.decode()
    product = Product.objects.get(code="vod")
    plan = product.plans.get()
    assert (product.kind, product.name, plan.code, plan.periodic_fee_minor) == ("addon", "VOD Plus", "vod-monthly", 350)
    assert list(ProductPackage.objects.filter(product=product).values_list("package__external_id", flat=True)) == [
        "vod-plus"]


def test_a_new_inbound_token_is_shown_once_and_works(world, login):
    from tripleplay.iptv.configuration import platform_for_inbound_token

    client = login("admin")
    response = client.post(f"/platforms/{world.platform.pk}/token")
    token = re.search(r'<pre id="token">(tpp_[^<]+)</pre>', response.content.decode()).group(1)
    assert platform_for_inbound_token(token) == world.platform
    assert token not in client.get(f"/platforms/{world.platform.pk}/").content.decode()


def test_a_quarterly_plan_with_a_minimum_term_is_created_from_the_catalog_form(world, login):
    """Plan periods include quarterly, semi-annual and annual (D70); a customer's billing period does not."""
    from tripleplay.catalog.models import SubscriptionPlan

    client = login("admin")
    page = client.get("/catalog/").content.decode()
    for value in ("quarterly", "semiannual", "annual"):
        assert f'<option value="{value}">' in page
    client.post(f"/catalog/products/{world.cat.basic.pk}/plans/new", {
        "code": "basic-quarterly", "name": "Basic quarterly", "periodic_fee": "45.00", "activation_fee": "0",
        "period": "quarterly", "charge_mode": "in_arrears", "minimum_term_periods": "4",
        "early_cancellation_fee": "200.00"})
    plan = SubscriptionPlan.objects.get(code="basic-quarterly")
    assert (plan.period, plan.charge_mode, plan.periodic_fee_minor, plan.minimum_term_periods,
            plan.early_cancellation_fee_minor) == ("quarterly", "in_arrears", 4500, 4, 20000)
    refused = client.post(f"/catalog/products/{world.cat.basic.pk}/plans/new", {
        "code": "basic-q2", "name": "Basic q2", "periodic_fee": "45.00", "period": "quarterly",
        "minimum_term_periods": "four"}, follow=True)
    assert "minimum_term_periods must be an integer" in refused.content.decode()
    assert not SubscriptionPlan.objects.filter(code="basic-q2").exists()
    signup = client.get("/customers/new/").content.decode()
    assert 'value="monthly"' in signup and 'value="quarterly"' not in signup


def test_a_plan_aligned_to_the_billing_period_is_created_from_the_catalog_form(world, login):
    """Alignment and the two proration flags (D92): yes/no selects, yes when absent; a bad value is
    refused with create_plan's message and creates nothing."""
    from tripleplay.catalog.models import SubscriptionPlan

    client = login("admin")
    page = client.get("/catalog/").content.decode()
    assert '<option value="billing_period">' in page and 'name="prorate_first_period"' in page
    client.post(f"/catalog/products/{world.cat.basic.pk}/plans/new", {
        "code": "basic-aligned", "name": "Basic aligned", "periodic_fee": "31.00", "period": "monthly",
        "alignment": "billing_period", "prorate_first_period": "no", "prorate_last_period": "yes"})
    plan = SubscriptionPlan.objects.get(code="basic-aligned")
    assert (plan.alignment, plan.prorate_first_period, plan.prorate_last_period, plan.periodic_fee_minor) == \
        ("billing_period", False, True, 3100)
    assert "aligned to the billing period" in client.get("/catalog/").content.decode()
    client.post(f"/catalog/products/{world.cat.basic.pk}/plans/new", {
        "code": "basic-default", "name": "Basic default", "periodic_fee": "31.00"})
    plan = SubscriptionPlan.objects.get(code="basic-default")
    assert (plan.alignment, plan.prorate_first_period, plan.prorate_last_period) == ("anniversary", True, True)
    for field, value, message in (("alignment", "calendar", "alignment must be one of"),
                                  ("prorate_first_period", "maybe", "prorate_first_period must be true or false")):
        refused = client.post(f"/catalog/products/{world.cat.basic.pk}/plans/new", {
            "code": "basic-bad", "name": "Basic bad", "periodic_fee": "31.00", field: value}, follow=True)
        assert message in refused.content.decode()
        assert not SubscriptionPlan.objects.filter(code="basic-bad").exists()


def test_platform_page_sets_what_may_be_ordered_from_the_tv_screen(world, login):
    from tripleplay.orders.selectors import orderable_product_ids

    admin, support = login("admin"), login("support")
    page = admin.get(f"/platforms/{world.platform.pk}/")
    assert b"Orders from the TV screen" in page.content and b'name="product_ids"' in page.content
    sports, movies = world.cat.sports_plan.product, world.cat.movies_plan.product
    r = admin.post(f"/platforms/{world.platform.pk}/orderable", {"product_ids": [str(sports.pk), str(movies.pk)]})
    assert r.status_code == 302 and orderable_product_ids(world.platform) == {sports.pk, movies.pk}
    admin.post(f"/platforms/{world.platform.pk}/orderable", {"product_ids": [str(movies.pk)]})
    assert orderable_product_ids(world.platform) == {movies.pk}
    bad = admin.post(f"/platforms/{world.platform.pk}/orderable", {"product_ids": ["x"]})
    assert bad.status_code in (302, 422) and orderable_product_ids(world.platform) == {movies.pk}  # an error message
    read_only = support.get(f"/platforms/{world.platform.pk}/")
    assert b'name="product_ids"' not in read_only.content and movies.name.encode() in read_only.content
