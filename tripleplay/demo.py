"""Demo data: a small catalog, five customers, operator logins. Written through the services only,
exactly as an operator would create it, so the demo also exercises the real rules and audit trail.

``seed()`` is idempotent: if the demo catalog exists (product "tv-basic"), it does nothing. The whole
seed is one transaction, so an interrupted run leaves nothing half-made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction

from tripleplay import clock
from tripleplay.access.services import create_operator
from tripleplay.catalog.models import Product
from tripleplay.catalog.services import create_plan, create_product, update_product
from tripleplay.core.actors import Actor, Role
from tripleplay.customers.models import Account
from tripleplay.customers.services import change_customer_status, create_account, create_customer
from tripleplay.ledger.services import post_credit, post_debit, record_payment
from tripleplay.money import Money
from tripleplay.subscriber_access.services import invite, set_password_with_token

DEMO_PASSWORD = "tripleplay-demo"
DEMO_OPERATORS = (("admin", Role.ADMIN), ("finance", Role.FINANCE), ("support", Role.SUPPORT))
MARKER_PRODUCT = "tv-basic"
CURRENCY = "USD"

# code, name, kind, services, monthly fee, activation fee, extra plan terms, description
PRODUCTS = (
    ("tv-basic", "TV Basic", "main", ["iptv"], 1499, 999, {"hold_fee_minor": 299}, "80 live channels, 7-day catch-up"),
    ("tv-premium", "TV Premium", "main", ["iptv"], 2999, 999,
     {"minimum_term_periods": 12, "early_cancellation_fee_minor": 4900}, "180 live channels in HD, cloud DVR"),
    ("internet-100", "Internet 100 Mbit/s", "main", ["data"], 3999, 4900, {}, "Fibre, unlimited data"),
    ("voice-line", "Voice line", "main", ["voice"], 999, 0,
     {"allowances": [{"service_type": "voice", "unit": "minutes", "quantity": 300}]},
     "Home phone line with 300 national minutes"),
    # The bundle is billed from the customer's bill-cycle day: a prorated first month, then whole ones (D92).
    ("triple-play", "Triple Play", "main", ["data", "iptv", "voice"], 6999, 0,
     {"minimum_term_periods": 24, "early_cancellation_fee_minor": 9900, "alignment": "billing_period",
      "allowances": [{"service_type": "voice", "unit": "minutes", "quantity": 1000}]},
     "TV Basic, Internet 100 Mbit/s and a voice line with 1000 minutes"),
    ("sports-pack", "Sports Pack", "addon", ["iptv"], 999, 0, {}, "Live football, basketball and motorsport"),
    ("movies-pack", "Movies Pack", "addon", ["iptv"], 799, 0, {}, "Premium movie channels"),
    ("kids-pack", "Kids Pack", "addon", ["iptv"], 399, 0, {}, "Cartoons and family channels"),
    ("ppv-events", "Pay-per-view events", "addon", ["ppv"], 0, 0, {},
     "Access to pay-per-view events; each event is charged when bought"),
)


@dataclass(frozen=True)
class SeedResult:
    created: bool  # False: the demo data was already there
    products: int = 0
    customers: int = 0
    accounts: int = 0


def demo_data_exists() -> bool:
    return Product.objects.filter(code=MARKER_PRODUCT).exists()


def seed(actor: Actor | None = None) -> SeedResult:
    """Create the demo catalog and customers unless they exist."""
    actor = actor or Actor.system("demo")
    with transaction.atomic():
        if demo_data_exists():
            return SeedResult(created=False)
        plans = _catalog(actor)
        _bundle_rule(actor)  # issue #13: the triple-play bundle discount
        accounts = _customers(actor, plans)
        _promotions(actor, plans)  # promos
        _vacation_hold(actor)
    return SeedResult(created=True, products=len(PRODUCTS), customers=5, accounts=accounts)


def ensure_operators(actor: Actor | None = None) -> list[tuple[str, Role]]:
    """The demo's operator logins, created or reset to the demo password on every run."""
    actor = actor or Actor.system("demo")
    for username, role in DEMO_OPERATORS:
        create_operator(actor, username=username, password=DEMO_PASSWORD, role=role,
                        email=f"{username}@demo.tripleplay.invalid")
    return list(DEMO_OPERATORS)


DEMO_SUBSCRIBER = "alice.martin@example.com"  # prepaid, IPTV with the Kids Pack
SELF_SERVICE_ADDONS = ("sports-pack", "movies-pack", "kids-pack")


def ensure_subscriber_login(actor: Actor | None = None) -> tuple[str, str]:
    """The demo's subscriber portal login (Alice), set to the demo password on every run, and the
    channel packs she may add or remove herself. Returns (login, password)."""
    actor = actor or Actor.system("demo")
    for product in Product.objects.filter(code__in=SELF_SERVICE_ADDONS, self_service=False):
        update_product(actor, product, self_service=True)
    alice = Product.objects.get(code="kids-pack").assignments.select_related("account__customer").first().account.customer
    invitation = invite(actor, alice)  # the link is also e-mailed (TRIPLEPLAY_HOME/mail)
    set_password_with_token(invitation.link.rsplit("/", 1)[1], DEMO_PASSWORD)
    return DEMO_SUBSCRIBER, DEMO_PASSWORD


def _catalog(actor: Actor) -> dict:
    plans = {}
    for code, name, kind, services, fee, activation, terms, description in PRODUCTS:
        product = create_product(actor, code=code, name=name, kind=kind, currency=CURRENCY, services=services,
                                 description=description)
        plans[code] = create_plan(actor, product, code=f"{code}-monthly", name=f"{name}, monthly",
                                  periodic_fee_minor=fee, activation_fee_minor=activation, **terms)
    return plans


# promos: the demo's promotion on the triple-play bundle, and its coupon code (printed by `tripleplay demo`).
DEMO_COUPON = "TRIPLEHALF"


def _promotions(actor: Actor, plans: dict) -> None:
    from tripleplay.promotions.services import create_coupon, create_promotion

    half = create_promotion(actor, code="triple-play-half-3", name="First three months at half price",
                            product=plans["triple-play"].product, kind="price", periods=3, percent_off=50)
    create_coupon(actor, code=DEMO_COUPON, promotion=half, usage_limit=1000)


def _bundle_rule(actor: Actor) -> None:
    """TV, internet and voice bought separately: 20 % off each of those fees; any two of them, 10 %.
    The Triple Play product is already priced as a bundle: its fee is not among the discounted ones."""
    from tripleplay.bundles.services import create_rule

    create_rule(actor, name="TV + internet + voice, 20 % off", active_from=date(2026, 1, 1),
                fee_products=["tv-basic", "tv-premium", "internet-100", "voice-line"], fee_service_types=[],
                tiers=[{"services": ["iptv", "data", "voice"], "percent": "20"},
                       {"services": ["iptv", "data", "voice"], "at_least": 2, "percent": "10"}])


def _usd(minor: int) -> Money:
    return Money(minor, CURRENCY)


def _customers(actor: Actor, plans: dict) -> int:
    accounts = 0

    def account(customer, main, addons=(), **identifiers):
        nonlocal accounts
        accounts += 1
        return create_account(actor, customer, main_plan=plans[main], addon_plans=[plans[a] for a in addons],
                              **identifiers)

    def customer(name, balance_model, credit_limit_minor=0, **contact):
        return create_customer(actor, name=name, currency=CURRENCY, balance_model=balance_model,
                               credit_limit_minor=credit_limit_minor, tax_rate="8.25", country="US", **contact)

    # 1. Prepaid IPTV with an add-on; topped up.
    alice = customer("Alice Martin", "prepaid", email="alice.martin@example.com", phone="+15550100101",
                     address_line1="12 Elm Street", city="Springfield", postal_code="62701")
    account(alice, "tv-basic", ["kids-pack"], login="alice.tv", device_id="STB-00A1B2C3")
    record_payment(actor, alice, _usd(5000), idempotency_key="demo:alice:top-up-1", method="top_up",
                   reference="TOPUP-1001")

    # 2. Postpaid household: premium TV with two packs (and pay-per-view), and a phone line.
    bob = customer("Bob Chen", "postpaid", 20000, email="bob.chen@example.com", phone="+15550100202",
                   address_line1="48 Oak Avenue", city="Springfield", postal_code="62702")
    account(bob, "tv-premium", ["sports-pack", "movies-pack", "ppv-events"], login="bob.tv", device_id="STB-00D4E5F6")
    account(bob, "voice-line", phone_number="+15550100200")
    record_payment(actor, bob, _usd(10000), idempotency_key="demo:bob:payment-1", method="bank_transfer",
                   reference="BANK-20391")

    # 3. Postpaid bundle (TV, internet and voice on one account); paid, and compensated for an outage.
    carla = customer("Carla Diaz", "postpaid", 15000, email="carla.diaz@example.com", phone="+15550100303",
                     address_line1="7 Birch Road", city="Shelbyville", postal_code="62565")
    account(carla, "triple-play", login="carla.home", device_id="STB-00A7B8C9", phone_number="+15550100300")
    record_payment(actor, carla, _usd(6999), idempotency_key="demo:carla:payment-1", method="card",
                   reference="CARD-88412")
    post_credit(actor, carla, _usd(1000), reason="goodwill: 6-hour TV outage on the 3rd",
                idempotency_key="demo:carla:credit-1")

    # 4. Prepaid internet whose balance does not cover the next month: suspended.
    dmitri = customer("Dmitri Ivanov", "prepaid", email="dmitri.ivanov@example.com", phone="+15550100404",
                      address_line1="301 Pine Court", city="Shelbyville", postal_code="62566")
    account(dmitri, "internet-100", login="dmitri.net")
    record_payment(actor, dmitri, _usd(500), idempotency_key="demo:dmitri:top-up-1", method="voucher",
                   reference="VOUCHER-5512")
    change_customer_status(actor, dmitri, "suspended", reason="insufficient funds for the internet-100 renewal")

    # 5. Postpaid phone line, blocked by an operator; owes for a replacement handset.
    emma = customer("Emma Schultz", "postpaid", 10000, email="emma.schultz@example.com", phone="+15550100505",
                    address_line1="95 Cedar Lane", city="Capital City", postal_code="62703")
    account(emma, "voice-line", phone_number="+15550100500")
    post_debit(actor, emma, _usd(2500), reason="replacement DECT handset", idempotency_key="demo:emma:debit-1")
    change_customer_status(actor, emma, "blocked", reason="fraud check: unusual international call pattern")
    return accounts


def _vacation_hold(actor: Actor) -> None:
    """Alice's TV pauses for two weeks from two weeks on (D151): TV Basic costs its hold fee, 2.99 a
    month, for those days, and the platforms disable the set-top box while it lasts."""
    from tripleplay.customers.vacation import schedule_hold

    alice_tv = Account.objects.get(login="alice.tv")
    today = clock.today()
    schedule_hold(actor, alice_tv, start_date=today + timedelta(days=14), end_date=today + timedelta(days=28),
                  reason="family vacation")
