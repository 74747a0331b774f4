"""Promotions and trials on invoices, Kill Bill style: a frozen clock moved day by day (the trials job
at 05:00, the charge at 06:00, the invoice run at 08:00), exact amounts on the dated lines of each
month's invoice. A postpaid customer invoiced monthly on the 1st, no tax."""

from __future__ import annotations

from datetime import date, timedelta

from tripleplay.customers.services import add_addon, create_account
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at
from tripleplay.invoicing.tests.test_aligned_invoices import lines_by_month
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.promotions import hooks
from tripleplay.promotions.services import close_trials, grant_promotion, remind_trials
from tripleplay.subscriptions.services import charge_all

D = date


def days(actor, first: date, last: date):
    day = first
    while day <= last:
        at(day, hour=5)
        remind_trials(actor, day)
        close_trials(actor, day)
        at(day, hour=6)
        assert not charge_all(actor, day).failures
        at(day, hour=8)
        assert not run_invoices(actor, day).failures
        day += timedelta(days=1)


def sign_up(actor, make_customer, plan, day: date, promotion=None, addons=()):
    at(day, hour=4)
    customer = make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)
    account = create_account(actor, customer, main_plan=plan, addon_plans=list(addons), start_date=day)
    if promotion is not None:
        grant_promotion(actor, account.products.get(role="main"), promotion)
    return customer, account


def test_three_months_at_half_price_on_an_aligned_plan_then_the_full_fee(actor, make_customer, promos):
    customer, _ = sign_up(actor, make_customer, promos.aligned, D(2025, 1, 29), promos.half)
    days(actor, D(2025, 1, 29), D(2025, 6, 1))
    by_month = lines_by_month(customer)
    half = "TV: subscription fee (Three months at half price)"
    # Jan 29 - 31 is promotional and not counted: 1500 x 3 / 31 = 145.16 -> 145; then three whole months.
    assert by_month[D(2025, 1, 1)] == [
        ("TV: activation fee 2025-01-29..2025-01-31", 1000, D(2025, 1, 29), D(2025, 2, 1)),
        (f"{half} 2025-01-29..2025-01-31", 145, D(2025, 1, 29), D(2025, 2, 1)),
    ]
    assert by_month[D(2025, 2, 1)] == [(f"{half} 2025-02-01..2025-02-28", 1500, D(2025, 2, 1), D(2025, 3, 1))]
    assert by_month[D(2025, 3, 1)] == [(f"{half} 2025-03-01..2025-03-31", 1500, D(2025, 3, 1), D(2025, 4, 1))]
    assert by_month[D(2025, 4, 1)] == [(f"{half} 2025-04-01..2025-04-30", 1500, D(2025, 4, 1), D(2025, 5, 1))]
    assert by_month[D(2025, 5, 1)] == [("TV: subscription fee 2025-05-01..2025-05-31", 3000, D(2025, 5, 1),
                                        D(2025, 6, 1))]
    entry_data = customer.entries.filter(source="subscription", data__kind="periodic").order_by("id")
    assert [e.data.get("promotion") for e in entry_data][:5] == ["Three months at half price"] * 4 + [None]
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == -(1000 + 145 + 3 * 1500 + 3000 + 3000)


def test_a_promotion_ending_inside_an_invoice_period_on_an_anniversary_plan(actor, make_customer, promos):
    """Signed up Jan 15: the three half-price months run to Apr 14; April's invoice has the full fee
    from Apr 15, March's the last half-price month (charged in advance on Mar 15)."""
    customer, _ = sign_up(actor, make_customer, promos.anniversary, D(2025, 1, 15), promos.half)
    days(actor, D(2025, 1, 15), D(2025, 5, 1))
    by_month = lines_by_month(customer)
    half = "TV anniversary: subscription fee (Three months at half price)"
    assert by_month[D(2025, 3, 1)] == [(f"{half} 2025-03-15..2025-04-14", 1500, D(2025, 3, 15), D(2025, 4, 15))]
    assert by_month[D(2025, 4, 1)] == [("TV anniversary: subscription fee 2025-04-15..2025-05-14", 3000,
                                        D(2025, 4, 15), D(2025, 5, 15))]


def test_a_trial_converting_on_an_aligned_plan(actor, make_customer, promos):
    reminded = []
    hooks.TRIAL_ENDING.register(lambda actor, t: reminded.append((t.promotion, t.trial_end, t.key)), order=99)
    try:
        customer, account = sign_up(actor, make_customer, promos.aligned, D(2025, 1, 10), promos.trial)
        type(customer).objects.filter(pk=customer.pk).update(email="trial@example.com", phone="+15005550006")
        customer.refresh_from_db()
        days(actor, D(2025, 1, 10), D(2025, 3, 1))
    finally:
        hooks.TRIAL_ENDING._handlers = [h for h in hooks.TRIAL_ENDING._handlers if h.order != 99]
    grant = account.products.get().promotion_grant
    assert reminded == [("Two weeks free", D(2025, 1, 24), f"trial_ending:{grant.pk}")]  # once, on Jan 21
    assert grant.reminded_at.date() == D(2025, 1, 21)
    # The notifications app's handler wrote the notice in the same transaction, once, per channel the
    # customer can be reached on; the last free day is Jan 23.
    from tripleplay.notifications.models import Notification

    notices = Notification.objects.filter(customer=customer, kind="trial_ending")
    assert [(n.channel, n.key, n.body) for n in notices.order_by("channel")] == [
        ("email", f"trial_ending:email:trial_ending:{grant.pk}",
         f"Dear {customer.name},\n\nyour trial of TV runs until 23 January 2025.\n"),
        ("sms", f"trial_ending:sms:trial_ending:{grant.pk}", "Your trial of TV runs until 23 January 2025.")]
    by_month = lines_by_month(customer)
    # 14 free days Jan 10 - 23; paid from Jan 24: 8 of January's 31 days, 3000 x 8 / 31 = 774.19 -> 774.
    assert by_month[D(2025, 1, 1)] == [
        ("TV: activation fee 2025-01-24..2025-01-31", 1000, D(2025, 1, 24), D(2025, 2, 1)),
        ("TV: subscription fee 2025-01-24..2025-01-31", 774, D(2025, 1, 24), D(2025, 2, 1)),
    ]
    assert by_month[D(2025, 2, 1)] == [("TV: subscription fee 2025-02-01..2025-02-28", 3000, D(2025, 2, 1),
                                        D(2025, 3, 1))]
    assert account.products.get().end_date is None


def test_a_trial_converting_on_an_anniversary_plan(actor, make_customer, promos):
    customer, _ = sign_up(actor, make_customer, promos.anniversary, D(2025, 1, 10), promos.trial)
    days(actor, D(2025, 1, 10), D(2025, 3, 1))
    by_month = lines_by_month(customer)
    assert by_month[D(2025, 1, 1)] == [
        ("TV anniversary: activation fee 2025-01-24..2025-02-23", 1000, D(2025, 1, 24), D(2025, 2, 24)),
        ("TV anniversary: subscription fee 2025-01-24..2025-02-23", 3000, D(2025, 1, 24), D(2025, 2, 24)),
    ]
    assert by_month[D(2025, 2, 1)] == [("TV anniversary: subscription fee 2025-02-24..2025-03-23", 3000,
                                        D(2025, 2, 24), D(2025, 3, 24))]


def test_a_trial_without_conversion_ends_the_product_and_tells_the_platform(actor, make_customer, promos):
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage, ProvisioningCommand
    from tripleplay.iptv.packages import link_package
    from tripleplay.subscriptions.models import SubscriptionCharge

    at(D(2025, 1, 1))
    platform = create_platform(actor, code="tv", name="TV", kind="generic_xml", base_url="http://127.0.0.1:9",
                               timeout_seconds="1")
    for code in ("basic", "sport"):
        package = ChannelPackage.objects.create(platform=platform, external_id=code, name=code,
                                                first_seen_at=clock_now(), updated_at=clock_now())
        link_package(actor, package, promos.tv if code == "basic" else promos.sports)
    customer, account = sign_up(actor, make_customer, promos.anniversary, D(2025, 1, 10), promos.trial_only)
    at(D(2025, 1, 10), hour=4)
    sports = add_addon(actor, account, promos.sports_plan, start_date=D(2025, 1, 10))
    grant_promotion(actor, sports, promos.sports_trial)
    days(actor, D(2025, 1, 10), D(2025, 2, 1))

    sports.refresh_from_db()
    assert (sports.end_date, sports.end_reason) == (D(2025, 1, 17), "free trial ended")
    account.refresh_from_db()
    main = account.products.get(role="main")
    assert (account.status, main.end_date) == ("closed", D(2025, 1, 24))
    events = list(ProvisioningCommand.objects.filter(subscriber__account=account).order_by("id")
                  .values_list("event", "desired__enabled", "created_at__date"))
    assert events == [("Account/New", True, D(2025, 1, 10)), ("Account/ProductAddon/Inserted", True, D(2025, 1, 10)),
                      ("Account/ProductAddon/Deleted", True, D(2025, 1, 17)),
                      ("Account/Status/Closed", False, D(2025, 1, 24))]
    assert not SubscriptionCharge.objects.filter(customer=customer).exists()
    assert funds_of(customer).balance.minor == 0


def clock_now():
    from tripleplay import clock

    return clock.now()


def test_the_demo_offers_half_price_triple_play_with_a_coupon(actor, make_customer):
    from tripleplay import demo
    from tripleplay.catalog.models import SubscriptionPlan
    from tripleplay.promotions.services import redeem_coupon

    at(D(2025, 1, 1), hour=4)
    demo.seed(actor)
    customer = make_customer("postpaid", credit_limit_minor=100_000, bill_cycle_day=1)
    account = create_account(actor, customer, main_plan=SubscriptionPlan.objects.get(code="triple-play-monthly"))
    grant = redeem_coupon(actor, account.products.get(), demo.DEMO_COUPON.lower())
    assert grant.promotion.name == "First three months at half price"
    assert not charge_all(actor, D(2025, 1, 1)).failures
    assert [e.amount_minor for e in customer.entries.filter(source="subscription", data__kind="periodic")] == [-3500]
