from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.catalog.services import create_plan, create_product, retire_plan, retire_product
from tripleplay.core.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from tripleplay.customers import selectors
from tripleplay.customers.models import (
    Account,
    AccountProduct,
    AccountStatusChange,
    Customer,
    CustomerStatusChange,
)
from tripleplay.customers.services import (
    add_addon,
    change_account_status,
    change_customer_status,
    change_main_product,
    create_account,
    create_customer,
    remove_addon,
    update_account,
    update_customer,
)
from tripleplay.ledger.models import Funds

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(T0)


def counts() -> dict:
    return {
        "customers": Customer.objects.count(),
        "funds": Funds.objects.count(),
        "customer_history": CustomerStatusChange.objects.count(),
        "accounts": Account.objects.count(),
        "account_history": AccountStatusChange.objects.count(),
        "assignments": AccountProduct.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# -- sign-up -------------------------------------------------------------------------------------


def test_create_customer_stores_everything_and_opens_funds(actor):
    customer = create_customer(
        actor, name="  Ada Lovelace ", currency="EUR", balance_model="postpaid", credit_limit_minor=5000,
        billing_period="semimonthly", bill_cycle_day=15, tax_rate="19.5", email="ada@example.org",
        country="de", city="Berlin",
    )
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.country, customer.city) == (
        "Ada Lovelace", "ada@example.org", "DE", "Berlin")
    assert (customer.currency, customer.balance_model, customer.billing_period, customer.bill_cycle_day) == (
        "EUR", "postpaid", "semimonthly", 15)
    assert customer.tax_rate == Decimal("19.5")
    assert (customer.status, customer.status_changed_at, customer.created_at) == ("active", T0, T0)
    funds = Funds.objects.get(customer=customer)
    assert (funds.currency, funds.balance_minor, funds.credit_limit_minor, funds.held_minor) == ("EUR", 0, 5000, 0)
    history = list(customer.status_changes.values_list("from_status", "to_status", "reason", "actor_name", "at"))
    assert history == [("", "active", "signed up", "test", T0)]
    event = AuditEvent.objects.get(action="customer.created", object_id=str(customer.pk))
    assert event.object_type == "customer"
    assert event.data == {"name": "Ada Lovelace", "currency": "EUR", "balance_model": "postpaid",
                          "credit_limit_minor": 5000}


@pytest.mark.parametrize(
    "period, day",
    [("monthly", 1), ("monthly", 31), ("semimonthly", 15), ("weekly", 7), ("weekly", 1), ("daily", 1)],
)
def test_bill_cycle_day_boundaries_accepted(actor, period, day):
    c = create_customer(actor, name="x", currency="USD", balance_model="prepaid", billing_period=period,
                        bill_cycle_day=day)
    assert (c.billing_period, c.bill_cycle_day) == (period, day)


@pytest.mark.parametrize("rate", ["0", "100", "20.1234", Decimal("7.5"), 20])
def test_tax_rate_accepted(actor, rate):
    c = create_customer(actor, name="x", currency="USD", balance_model="prepaid", tax_rate=rate)
    c.refresh_from_db()
    assert c.tax_rate == Decimal(str(rate))


INVALID_SIGNUPS = {
    "unknown currency": dict(currency="ABC"),
    "lowercase currency": dict(currency="usd"),
    "prepaid with a credit limit": dict(balance_model="prepaid", credit_limit_minor=100),
    "negative credit limit": dict(balance_model="postpaid", credit_limit_minor=-1),
    "float credit limit": dict(balance_model="postpaid", credit_limit_minor=10.0),
    "unknown balance model": dict(balance_model="credit"),
    "unknown period": dict(billing_period="yearly"),
    "monthly day 0": dict(billing_period="monthly", bill_cycle_day=0),
    "monthly day 32": dict(billing_period="monthly", bill_cycle_day=32),
    "semimonthly day 16": dict(billing_period="semimonthly", bill_cycle_day=16),
    "weekly day 8": dict(billing_period="weekly", bill_cycle_day=8),
    "daily day 2": dict(billing_period="daily", bill_cycle_day=2),
    "day as text": dict(bill_cycle_day="1"),
    "day as bool": dict(bill_cycle_day=True),
    "tax rate below 0": dict(tax_rate="-0.01"),
    "tax rate above 100": dict(tax_rate="100.01"),
    "tax rate too precise": dict(tax_rate="20.12345"),
    "tax rate float": dict(tax_rate=19.5),
    "tax rate text": dict(tax_rate="abc"),
    "tax rate NaN": dict(tax_rate="NaN"),
    "tax rate infinite": dict(tax_rate="Infinity"),
    "bad email": dict(email="not-an-email"),
    "empty name": dict(name="   "),
    "name not text": dict(name=42),
    "country too long": dict(country="DEU"),
    "country not letters": dict(country="1A"),
    "unknown field": dict(nickname="Ada"),
    "long phone": dict(phone="1" * 201),
    "national phone": dict(phone="0151 12345678"),
    "phone without +": dict(phone="4915112345678"),
    "phone too long": dict(phone="+4915112345678901"),
    "phone with letters": dict(phone="+49 151 CALLME"),
    "phone country code 0": dict(phone="+0151123456"),
}


@pytest.mark.parametrize(("given", "stored"), [
    ("+4915112345678", "+4915112345678"),
    ("+49 151 1234-5678", "+4915112345678"),
    ("+49 (0)151 12345678", "+4915112345678"),
    ("0049 151 12345678", "+4915112345678"),
    ("+1 (555) 010.0101", "+15550100101"),
    ("  ", ""),
    ("", ""),
])
def test_a_phone_is_stored_in_e164(actor, given, stored):
    from tripleplay.customers.services import update_customer

    c = create_customer(actor, name="Ada", currency="USD", balance_model="prepaid", phone=given)
    assert Customer.objects.get(pk=c.pk).phone == stored
    update_customer(actor, c, phone="00 1 555 0100 202")
    assert Customer.objects.get(pk=c.pk).phone == "+15550100202"


def test_a_phone_not_in_e164_is_a_clear_error_and_an_update_changes_nothing(actor):
    from tripleplay.customers.services import update_customer

    c = create_customer(actor, name="Ada", currency="USD", balance_model="prepaid", phone="+4915112345678")
    with pytest.raises(InvalidInput) as e:
        update_customer(actor, c, phone="0151 12345678")
    assert (e.value.code, e.value.details) == ("invalid_phone_number", {"field": "phone"})
    assert "E.164" in e.value.message
    assert Customer.objects.get(pk=c.pk).phone == "+4915112345678"


@pytest.mark.parametrize("case", sorted(INVALID_SIGNUPS))
def test_invalid_sign_up_is_refused_and_writes_nothing(actor, case):
    create_customer(actor, name="existing", currency="USD", balance_model="prepaid")
    before = counts()
    kwargs = dict(name="Ada", currency="USD", balance_model="postpaid") | INVALID_SIGNUPS[case]
    with pytest.raises(InvalidInput):
        create_customer(actor, **kwargs)
    assert counts() == before


def test_invalid_input_names_the_field(actor):
    with pytest.raises(InvalidInput) as err:
        create_customer(actor, name="x", currency="ABC", balance_model="prepaid")
    assert (err.value.code, err.value.details) == ("unknown_currency", {"field": "currency"})
    with pytest.raises(InvalidInput) as err:
        create_customer(actor, name="x", currency="USD", balance_model="prepaid", billing_period="weekly",
                        bill_cycle_day=8)
    assert err.value.details == {"field": "bill_cycle_day"}
    assert "1..7" in err.value.message


# -- updates -------------------------------------------------------------------------------------


def test_update_customer(actor, make_customer):
    c = make_customer("prepaid")
    update_customer(actor, c, email="new@example.org", balance_model="postpaid", credit_limit_minor=2000,
                    billing_period="weekly", bill_cycle_day=5, tax_rate="7")
    c.refresh_from_db()
    assert (c.email, c.balance_model, c.billing_period, c.bill_cycle_day, c.tax_rate) == (
        "new@example.org", "postpaid", "weekly", 5, Decimal("7"))
    assert Funds.objects.get(customer=c).credit_limit_minor == 2000
    # back to prepaid drops the credit limit to zero
    update_customer(actor, c, balance_model="prepaid")
    assert Funds.objects.get(customer=c).credit_limit_minor == 0
    c.refresh_from_db()
    assert c.balance_model == "prepaid"
    assert AuditEvent.objects.filter(action="customer.updated", object_id=str(c.pk)).count() == 2


@pytest.mark.parametrize(
    "changes, error",
    [
        (dict(currency="EUR"), Conflict),
        (dict(credit_limit_minor=100), InvalidInput),  # still prepaid
        (dict(bill_cycle_day=32), InvalidInput),
        (dict(billing_period="weekly"), InvalidInput),  # day 31 is not a weekday
        (dict(tax_rate="101"), InvalidInput),
        (dict(email="nope"), InvalidInput),
        (dict(status="closed"), InvalidInput),
    ],
)
def test_update_customer_refusals_write_nothing(actor, make_customer, changes, error):
    c = make_customer("prepaid", bill_cycle_day=31, email="a@example.org")
    before = counts()
    with pytest.raises(error):
        update_customer(actor, c, **changes)
    assert counts() == before
    c.refresh_from_db()
    assert (c.currency, c.bill_cycle_day, c.billing_period, c.email, c.status) == (
        "USD", 31, "monthly", "a@example.org", "active")
    assert Funds.objects.get(customer=c).credit_limit_minor == 0


def test_update_customer_same_currency_is_fine_and_closed_is_refused(actor, make_customer):
    c = make_customer()
    update_customer(actor, c, currency="USD", name="Renamed")
    c.refresh_from_db()
    assert c.name == "Renamed"
    c = change_customer_status(actor, c, "closed", reason="bye")
    with pytest.raises(Conflict):
        update_customer(actor, c, name="Again")
    c.refresh_from_db()
    assert c.name == "Renamed"


# -- status transitions ---------------------------------------------------------------------------

STATUSES = ["active", "suspended", "blocked", "closed"]
ALLOWED = {
    ("active", "suspended"), ("active", "blocked"), ("active", "closed"),
    ("suspended", "active"), ("suspended", "blocked"), ("suspended", "closed"),
    ("blocked", "active"), ("blocked", "closed"),
}


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_customer_status_transitions(actor, make_customer, source, target):
    c = make_customer()
    if source != "active":
        c = change_customer_status(actor, c, source, reason=f"to {source}")
    before = counts()
    clock.advance(timedelta(hours=1))
    if (source, target) in ALLOWED:
        c = change_customer_status(actor, c, target, reason="  because  ")
        c.refresh_from_db()
        assert (c.status, c.status_reason, c.status_changed_at) == (target, "because", T0 + timedelta(hours=1))
        assert c.closed_at == (T0 + timedelta(hours=1) if target == "closed" else None)
        last = c.status_changes.last()
        assert (last.from_status, last.to_status, last.reason, last.actor_kind, last.actor_name, last.at) == (
            source, target, "because", "system", "test", T0 + timedelta(hours=1))
        event = AuditEvent.objects.filter(action="customer.status_changed", object_id=str(c.pk)).first()
        assert event.data == {"from": source, "to": target, "reason": "because"}
        assert counts()["customer_history"] == before["customer_history"] + 1
    else:
        with pytest.raises(TransitionNotAllowed) as err:
            change_customer_status(actor, c, target, reason="because")
        assert err.value.code == "status_transition_not_allowed"
        assert (err.value.details["from"], err.value.details["to"]) == (source, target)
        assert counts() == before
        c.refresh_from_db()
        assert c.status == source


def test_customer_status_full_history(actor, make_customer):
    c = make_customer()
    for status in ["suspended", "active", "blocked", "active", "closed"]:
        clock.advance(timedelta(minutes=1))
        change_customer_status(actor, c, status, reason=f"-> {status}")
    assert list(c.status_changes.values_list("from_status", "to_status")) == [
        ("", "active"), ("active", "suspended"), ("suspended", "active"), ("active", "blocked"),
        ("blocked", "active"), ("active", "closed")]


@pytest.mark.parametrize("status, reason", [("deleted", "x"), ("blocked", ""), ("blocked", "   "), ("blocked", None)])
def test_customer_status_input_checks(actor, make_customer, status, reason):
    c = make_customer()
    before = counts()
    with pytest.raises(InvalidInput):
        change_customer_status(actor, c, status, reason=reason)
    assert counts() == before


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_account_status_transitions(actor, make_customer, make_account, source, target):
    account = make_account(make_customer())
    if source != "active":
        account = change_account_status(actor, account, source, reason=f"to {source}")
    before = counts()
    if (source, target) in ALLOWED:
        account = change_account_status(actor, account, target, reason="ops")
        account.refresh_from_db()
        assert (account.status, account.status_reason) == (target, "ops")
        last = account.status_changes.last()
        assert (last.from_status, last.to_status, last.reason, last.actor_name) == (source, target, "ops", "test")
        assert counts()["account_history"] == before["account_history"] + 1
    else:
        with pytest.raises(TransitionNotAllowed):
            change_account_status(actor, account, target, reason="ops")
        assert counts() == before
        account.refresh_from_db()
        assert account.status == source


def test_closing_an_account_ends_its_products_today(actor, make_customer, make_account, catalog):
    account = make_account(make_customer(), addon_plans=[catalog.sports_plan], start_date=date(2026, 1, 1))
    clock.advance(timedelta(days=2))
    change_account_status(actor, account, "closed", reason="cancelled")
    rows = list(AccountProduct.objects.filter(account=account).values_list("product__code", "end_date", "end_reason"))
    assert rows == [("sports", date(2026, 3, 12), "account closed"), ("tv-basic", date(2026, 3, 12), "account closed")]
    account.refresh_from_db()
    assert account.closed_at == T0 + timedelta(days=2)


def test_closing_a_customer_closes_its_accounts_and_ends_their_products(actor, make_customer, make_account, catalog):
    c = make_customer()
    a1 = make_account(c, addon_plans=[catalog.sports_plan, catalog.movies_plan], login="a1",
                      start_date=date(2026, 2, 1))
    a2 = make_account(c, main_plan=catalog.internet_plan, login="a2", start_date=date(2026, 2, 1))
    blocked = make_account(c, login="a3", start_date=date(2026, 2, 1))
    change_account_status(actor, blocked, "blocked", reason="abuse")
    sports = a1.products.get(product__code="sports")
    remove_addon(actor, a1, sports.pk, end_date=date(2026, 3, 1))
    other = make_account(make_customer(), login="other")
    clock.advance(timedelta(days=1))
    change_customer_status(actor, c, "closed", reason="moved")
    for account in (a1, a2, blocked):
        account.refresh_from_db()
        assert (account.status, account.status_reason, account.closed_at) == (
            "closed", "customer closed: moved", T0 + timedelta(days=1))
        last = account.status_changes.last()
        assert (last.to_status, last.reason, last.actor_name) == ("closed", "customer closed: moved", "test")
        assert not account.products.filter(end_date__isnull=True).exists()
    assert blocked.status_changes.last().from_status == "blocked"
    ends = dict(a1.products.values_list("product__code", "end_date"))
    assert ends == {"sports": date(2026, 3, 1), "movies": date(2026, 3, 11), "tv-basic": date(2026, 3, 11)}
    assert list(a2.products.values_list("end_date", "end_reason")) == [(date(2026, 3, 11), "account closed")]
    # someone else's account is untouched
    other.refresh_from_db()
    assert other.status == "active" and other.products.filter(end_date__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="account.status_changed", data__to="closed").count() == 3
    # and nothing can reopen them
    with pytest.raises(TransitionNotAllowed):
        change_account_status(actor, a1, "active", reason="back")


def test_closing_ends_future_dated_products_too(actor, make_customer, make_account, catalog):
    """Products scheduled to start (or to end) after today must not outlive the closed account."""
    c = make_customer()
    future = make_account(c, login="future", addon_plans=[catalog.sports_plan], start_date=date(2026, 4, 1))
    changing = make_account(c, login="changing", start_date=date(2026, 1, 1))
    change_main_product(actor, changing, catalog.tv_plus_plan, effective_date=date(2026, 4, 1))
    change_customer_status(actor, c, "closed", reason="bye")
    assert not AccountProduct.objects.filter(account__customer=c, end_date__isnull=True).exists()
    # never started: a zero-length span at its start; running: ended today, not at its scheduled end
    assert sorted(future.products.values_list("product__code", "start_date", "end_date")) == [
        ("sports", date(2026, 4, 1), date(2026, 4, 1)), ("tv-basic", date(2026, 4, 1), date(2026, 4, 1))]
    assert list(changing.products.order_by("start_date").values_list("plan__code", "start_date", "end_date")) == [
        ("tv-basic-monthly", date(2026, 1, 1), TODAY), ("tv-basic-plus", date(2026, 4, 1), date(2026, 4, 1))]


# -- accounts --------------------------------------------------------------------------------------


def test_create_account_with_main_product_and_addons(actor, make_customer, catalog):
    c = make_customer()
    account = create_account(actor, c, main_plan=catalog.tv_plan,
                             addon_plans=[catalog.sports_plan, catalog.movies_plan],
                             login=" box-1 ", device_id="AA:BB:CC", phone_number="+4930123456")
    account.refresh_from_db()
    assert (account.login, account.device_id, account.phone_number) == ("box-1", "AA:BB:CC", "4930123456")
    assert (account.status, account.created_at, account.customer_id) == ("active", T0, c.pk)
    rows = list(account.products.order_by("role", "product__code").values_list(
        "product__code", "plan__code", "role", "start_date", "end_date"))
    assert rows == [
        ("movies", "movies-monthly", "addon", TODAY, None),
        ("sports", "sports-monthly", "addon", TODAY, None),
        ("tv-basic", "tv-basic-monthly", "main", TODAY, None),
    ]
    assert list(account.status_changes.values_list("from_status", "to_status", "reason")) == [("", "active", "created")]
    event = AuditEvent.objects.get(action="account.created", object_id=str(account.pk))
    assert event.data["addon_plans"] == ["sports-monthly", "movies-monthly"]
    assert [p.product.code for p in selectors.current_products(account)] == ["tv-basic", "sports", "movies"]


def test_create_account_without_identifiers_and_with_a_start_date(actor, make_customer, catalog):
    account = create_account(actor, make_customer(), main_plan=catalog.internet_plan, start_date=date(2026, 1, 15))
    assert (account.login, account.device_id, account.phone_number) == (None, None, None)
    assert account.products.get().start_date == date(2026, 1, 15)
    # identifiers are unique only where set
    second = create_account(actor, make_customer(), main_plan=catalog.internet_plan)
    assert second.login is None


@pytest.fixture
def eur_plan(actor):
    product = create_product(actor, code="tv-eur", name="TV EUR", kind="main", currency="EUR", services=["iptv"])
    return create_plan(actor, product, code="tv-eur-monthly", name="TV EUR", periodic_fee_minor=1000)


@pytest.mark.parametrize(
    "case, error, code",
    [
        ("addon as main", InvalidInput, "wrong_product_kind"),
        ("main as addon", InvalidInput, "wrong_product_kind"),
        ("retired main plan", Conflict, "plan_retired"),
        ("retired addon plan", Conflict, "plan_retired"),
        ("retired product", Conflict, "plan_retired"),
        ("currency mismatch", InvalidInput, "currency_mismatch"),
        ("addon twice", InvalidInput, "invalid_input"),
        ("duplicate login", Conflict, "duplicate"),
        ("duplicate device", Conflict, "duplicate"),
        ("duplicate phone", Conflict, "duplicate"),
        ("bad phone", InvalidInput, "invalid_input"),
        ("short phone", InvalidInput, "invalid_input"),
        ("closed customer", Conflict, "customer_closed"),
    ],
)
def test_create_account_refusals_write_nothing(actor, make_customer, make_account, catalog, eur_plan, case, error,
                                               code):
    c = make_customer()
    make_account(make_customer(), login="taken", device_id="DEV-1", phone_number="+15550001")
    kwargs = dict(main_plan=catalog.tv_plan, addon_plans=[catalog.sports_plan], login="fresh")
    if case == "addon as main":
        kwargs["main_plan"] = catalog.movies_plan
    elif case == "main as addon":
        kwargs["addon_plans"] = [catalog.internet_plan]
    elif case == "retired main plan":
        retire_plan(actor, catalog.tv_plan)
        catalog.tv_plan.refresh_from_db()
    elif case == "retired addon plan":
        retire_plan(actor, catalog.sports_plan)
        catalog.sports_plan.refresh_from_db()
    elif case == "retired product":
        retire_product(actor, catalog.sports)
        catalog.sports_plan.refresh_from_db()
    elif case == "currency mismatch":
        kwargs["main_plan"] = eur_plan
    elif case == "addon twice":
        kwargs["addon_plans"] = [catalog.sports_plan, catalog.sports_plan]
    elif case == "duplicate login":
        kwargs["login"] = "taken"
    elif case == "duplicate device":
        kwargs["device_id"] = "DEV-1"
    elif case == "duplicate phone":
        kwargs["phone_number"] = "15550001"  # same number without the '+'
    elif case == "bad phone":
        kwargs["phone_number"] = "+1-555-0001"
    elif case == "short phone":
        kwargs["phone_number"] = "12"
    elif case == "closed customer":
        c = change_customer_status(actor, c, "closed", reason="bye")
    before = counts()
    with pytest.raises(error) as err:
        create_account(actor, c, **kwargs)
    assert err.value.code == code
    assert counts() == before
    assert not Account.objects.filter(login="fresh").exists()


def test_add_and_remove_addons(actor, make_customer, make_account, catalog):
    account = make_account(make_customer(), start_date=date(2026, 3, 1))
    added = add_addon(actor, account, catalog.sports_plan)
    assert (added.role, added.product.code, added.start_date, added.end_date) == ("addon", "sports", TODAY, None)
    before = counts()
    with pytest.raises(Conflict) as err:
        add_addon(actor, account, catalog.sports_plan)
    assert err.value.code == "duplicate"
    with pytest.raises(InvalidInput):
        add_addon(actor, account, catalog.internet_plan)  # a main product
    assert counts() == before
    clock.advance(timedelta(days=5))
    removed = remove_addon(actor, account, added.pk, reason="too expensive")
    removed.refresh_from_db()
    assert (removed.end_date, removed.ended_at, removed.end_reason) == (
        date(2026, 3, 15), T0 + timedelta(days=5), "too expensive")
    with pytest.raises(Conflict) as err:
        remove_addon(actor, account, added.pk)
    assert err.value.code == "already_ended"
    # re-adding after removal starts a new span; history keeps both
    again = add_addon(actor, account, catalog.sports_plan, start_date=date(2026, 3, 20))
    spans = list(account.products.filter(product__code="sports").order_by("id").values_list("start_date", "end_date"))
    assert spans == [(TODAY, date(2026, 3, 15)), (date(2026, 3, 20), None)]
    assert again.pk != added.pk
    actions = list(AuditEvent.objects.filter(object_id=str(account.pk), action__startswith="account.addon")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["account.addon_added", "account.addon_removed", "account.addon_added"]


def test_remove_addon_refusals(actor, make_customer, make_account, catalog):
    account = make_account(make_customer(), addon_plans=[catalog.movies_plan])
    main = account.products.get(role="main")
    addon = account.products.get(role="addon")
    other = make_account(make_customer(), addon_plans=[catalog.sports_plan])
    other_addon = other.products.get(role="addon")
    before = counts()
    for assignment_id in (main.pk, other_addon.pk, 10**9, "x"):
        with pytest.raises(NotFound):
            remove_addon(actor, account, assignment_id)
    with pytest.raises(InvalidInput):
        remove_addon(actor, account, addon.pk, end_date=TODAY - timedelta(days=1))
    assert counts() == before
    assert remove_addon(actor, account, addon.pk, end_date=TODAY).end_date == TODAY  # same-day end is allowed


def test_closed_account_refuses_product_changes(actor, make_customer, make_account, catalog):
    account = make_account(make_customer(), addon_plans=[catalog.movies_plan])
    addon = account.products.get(role="addon")
    change_account_status(actor, account, "closed", reason="bye")
    before = counts()
    for call in (
        lambda: add_addon(actor, account, catalog.sports_plan),
        lambda: remove_addon(actor, account, addon.pk),
        lambda: change_main_product(actor, account, catalog.tv_plus_plan),
        lambda: update_account(actor, account, login="new"),
    ):
        with pytest.raises(Conflict) as err:
            call()
        assert err.value.code == "account_closed"
    assert counts() == before


@pytest.mark.parametrize("new_plan", ["tv_plus_plan", "internet_plan"])
def test_change_main_product_keeps_history(actor, make_customer, make_account, catalog, new_plan):
    account = make_account(make_customer(), addon_plans=[catalog.sports_plan], start_date=date(2026, 1, 1))
    old = account.products.get(role="main")
    plan = getattr(catalog, new_plan)
    effective = date(2026, 3, 15)
    new = change_main_product(actor, account, plan, effective_date=effective)
    old.refresh_from_db()
    assert (old.end_date, old.ended_at, old.end_reason) == (effective, T0, f"replaced by {plan.code}")
    assert (new.plan_id, new.role, new.start_date, new.end_date) == (plan.pk, "main", effective, None)
    history = list(selectors.product_history(account).filter(role="main").values_list(
        "plan__code", "start_date", "end_date"))
    assert history == [("tv-basic-monthly", date(2026, 1, 1), effective), (plan.code, effective, None)]
    # add-ons are not touched
    assert account.products.get(role="addon").end_date is None
    event = AuditEvent.objects.get(action="account.main_product_changed", object_id=str(account.pk))
    assert event.data == {"old_plan": "tv-basic-monthly", "new_plan": plan.code, "effective_date": "2026-03-15"}


def test_change_main_product_defaults_to_today_and_refusals(actor, make_customer, make_account, catalog, eur_plan):
    account = make_account(make_customer(), start_date=date(2026, 3, 1))
    before = counts()
    refusals = [
        (catalog.tv_plan, None, Conflict, "no_change"),
        (catalog.sports_plan, None, InvalidInput, "wrong_product_kind"),
        (eur_plan, None, InvalidInput, "currency_mismatch"),
        (catalog.tv_plus_plan, date(2026, 2, 28), InvalidInput, "invalid_input"),
    ]
    for plan, day, error, code in refusals:
        with pytest.raises(error) as err:
            change_main_product(actor, account, plan, effective_date=day)
        assert err.value.code == code
    assert counts() == before
    new = change_main_product(actor, account, catalog.tv_plus_plan)
    assert new.start_date == TODAY
    assert account.products.get(plan=catalog.tv_plan).end_date == TODAY


def test_partial_unique_index_allows_one_current_main_product(make_customer, make_account, catalog):
    account = make_account(make_customer())
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            AccountProduct.objects.create(account=account, product=catalog.internet, plan=catalog.internet_plan,
                                          role="main", start_date=TODAY, created_at=T0)
    assert account.products.filter(role="main").count() == 1
    # an ended main product does not count, and add-ons are not main products
    AccountProduct.objects.create(account=account, product=catalog.internet, plan=catalog.internet_plan,
                                  role="main", start_date=TODAY, end_date=TODAY, created_at=T0)
    AccountProduct.objects.create(account=account, product=catalog.sports, plan=catalog.sports_plan,
                                  role="addon", start_date=TODAY, created_at=T0)
    assert account.products.count() == 3


def test_a_product_is_current_once_per_account(make_customer, make_account, catalog):
    account = make_account(make_customer(), addon_plans=[catalog.sports_plan])
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            AccountProduct.objects.create(account=account, product=catalog.sports, plan=catalog.sports_plan,
                                          role="addon", start_date=TODAY, created_at=T0)
    with pytest.raises(IntegrityError):
        with transaction.atomic():  # an end before the start
            AccountProduct.objects.create(account=account, product=catalog.movies, plan=catalog.movies_plan,
                                          role="addon", start_date=TODAY, end_date=TODAY - timedelta(days=1),
                                          created_at=T0)
    assert account.products.count() == 2


def test_update_account_identifiers(actor, make_customer, make_account):
    c = make_customer()
    account = make_account(c, login="old", phone_number="4930111")
    make_account(c, login="taken", device_id="DEV")
    update_account(actor, account, login="new", phone_number="+4930222", device_id="")
    account.refresh_from_db()
    assert (account.login, account.phone_number, account.device_id) == ("new", "4930222", None)
    update_account(actor, account, login="new")  # its own value is not a duplicate
    before = counts()
    for changes, error in [(dict(login="taken"), Conflict), (dict(device_id="DEV"), Conflict),
                           (dict(status="closed"), InvalidInput), (dict(phone_number="abc"), InvalidInput)]:
        with pytest.raises(error):
            update_account(actor, account, **changes)
    assert counts() == before
    account.refresh_from_db()
    assert (account.login, account.phone_number, account.device_id) == ("new", "4930222", None)


def test_selectors(actor, make_customer, make_account):
    a = make_customer(name="Alice Example", email="alice@example.org")
    b = make_customer(name="Bob")
    make_account(b, login="alice-tv", phone_number="4930555")
    change_customer_status(actor, b, "blocked", reason="x")
    assert list(selectors.customers(search="alice")) == [a, b]  # by name/email, and by account login
    assert list(selectors.customers(status="blocked")) == [b]
    assert selectors.customer(a.pk) == a
    for bad in (10**9, "x", None):
        with pytest.raises(NotFound):
            selectors.customer(bad)
    assert [acc.login for acc in selectors.accounts(customer_id=b.pk)] == ["alice-tv"]
    assert [acc.login for acc in selectors.accounts(search="0555")] == ["alice-tv"]
    assert list(selectors.accounts(customer_id=a.pk)) == []
    with pytest.raises(NotFound):
        selectors.account(10**9)


def test_updating_a_stale_account_cannot_reopen_or_overwrite_it(actor, make_customer, make_account):
    account = make_account(make_customer(), login="box")
    stale = Account.objects.get(pk=account.pk)
    change_account_status(actor, account, "blocked", reason="abuse")
    update_account(actor, stale, login="box-2")  # the stale copy still says "active"
    account.refresh_from_db()
    assert (account.login, account.status, account.status_reason) == ("box-2", "blocked", "abuse")
    change_account_status(actor, account, "closed", reason="bye")
    before = counts()
    with pytest.raises(Conflict) as err:
        update_account(actor, stale, login="box-3")
    assert err.value.code == "account_closed"
    assert counts() == before
    account.refresh_from_db()
    assert (account.login, account.status) == ("box-2", "closed")


def test_updating_a_stale_customer_cannot_reopen_or_overwrite_it(actor, make_customer):
    customer = make_customer(name="Old")
    stale = Customer.objects.get(pk=customer.pk)
    change_customer_status(actor, customer, "suspended", reason="overdue")
    update_customer(actor, stale, name="New")
    customer.refresh_from_db()
    assert (customer.name, customer.status, customer.status_reason) == ("New", "suspended", "overdue")
    change_customer_status(actor, customer, "closed", reason="bye")
    before = counts()
    with pytest.raises(Conflict) as err:
        update_customer(actor, stale, name="Newer")
    assert err.value.code == "customer_closed"
    assert counts() == before
    customer.refresh_from_db()
    assert (customer.name, customer.status, customer.closed_at) == ("New", "closed", T0)
