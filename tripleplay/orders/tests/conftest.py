"""Orders test wiring: two platforms (never called: the service tests need no worker), a main TV
product on each granting its "basic" package (every account gets a Subscriber row ``tp-<account
pk>`` on its platform), a second main product "tv-plus", add-ons "sports" and "movies" (5.00 a month,
in advance) linked to packages, and the operator's switch set for sports, movies and tv-plus on
``platform`` only. The clock is frozen at ``T0`` (2026-03-11): an account signed up on 2026-03-01
has used 10 of March's 31 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

T0 = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
SIGNED_UP = date(2026, 3, 1)


@dataclass
class Viewer:
    customer: object
    account: object
    ref: str


@dataclass
class OrdersWorld:
    actor: object
    make_customer: object
    platform: object
    other_platform: object
    tv_plan: object
    tv_plus_plan: object
    sports_plan: object
    movies_plan: object
    other_tv_plan: object

    def viewer(self, funds_minor: int = 0, *, other_platform: bool = False, balance_model: str = "prepaid",
               addons=(), charged: bool = True) -> Viewer:
        from tripleplay.customers.services import create_account
        from tripleplay.iptv.models import Subscriber
        from tripleplay.ledger.services import record_payment
        from tripleplay.money import Money
        from tripleplay.subscriptions.services import charge_customer

        customer = self.make_customer(balance_model)
        if funds_minor:
            record_payment(self.actor, customer, Money(funds_minor, "USD"), idempotency_key=f"fund-{customer.pk}")
        main = self.other_tv_plan if other_platform else self.tv_plan
        account = create_account(self.actor, customer, main_plan=main, addon_plans=list(addons), start_date=SIGNED_UP)
        if charged:  # March's fees of what the account has (the charge run of 1 March)
            charge_customer(self.actor, customer, SIGNED_UP)
        sub = Subscriber.objects.get(account=account)
        return Viewer(customer, account, sub.external_id)


def _platform(actor, code: str):
    from tripleplay import clock
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage

    platform = create_platform(actor, code=code, name=code.title(), kind="ministra", base_url="http://127.0.0.1:9",
                               username="u", secret="s", timeout_seconds="1")
    now = clock.now()
    packages = {ext: ChannelPackage.objects.create(platform=platform, external_id=ext, name=ext.title(),
                                                   first_seen_at=now, updated_at=now)
                for ext in ("basic", "plus", "sports", "movies")}
    return platform, packages


@pytest.fixture
def world(db, actor, make_customer) -> OrdersWorld:
    from tripleplay import clock
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.iptv.packages import link_package
    from tripleplay.orders.services import set_orderable

    clock.freeze(T0)
    platform, pkg = _platform(actor, "ordertv")
    other, other_pkg = _platform(actor, "othertv")
    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    tv_plan = create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
    link_package(actor, pkg["basic"], tv)
    plus = create_product(actor, code="tv-plus", name="TV Plus", kind="main", currency="USD", services=["iptv"])
    plus_plan = create_plan(actor, plus, code="tv-plus-monthly", name="TV Plus monthly", periodic_fee_minor=2000)
    link_package(actor, pkg["basic"], plus)
    link_package(actor, pkg["plus"], plus)
    addons = {}
    for ext in ("sports", "movies"):
        product = create_product(actor, code=ext, name=ext.title(), kind="addon", currency="USD", services=["iptv"])
        addons[ext] = create_plan(actor, product, code=f"{ext}-monthly", name=f"{ext} monthly", periodic_fee_minor=500)
        link_package(actor, pkg[ext], product)
    other_tv = create_product(actor, code="other-tv", name="Other TV", kind="main", currency="USD", services=["iptv"])
    other_tv_plan = create_plan(actor, other_tv, code="other-tv-monthly", name="Other TV", periodic_fee_minor=1500)
    link_package(actor, other_pkg["basic"], other_tv)
    for product in (addons["sports"].product, addons["movies"].product, plus):
        set_orderable(actor, platform, product, True)
    set_orderable(actor, other, addons["sports"].product, True)
    return OrdersWorld(actor, make_customer, platform, other, tv_plan, plus_plan, addons["sports"], addons["movies"],
                       other_tv_plan)
