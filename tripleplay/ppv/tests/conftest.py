"""PPV test wiring: a platform (never called: PPV needs no worker and no simulator), a catalog whose
main TV product grants the platform's base package (so every account gets a Subscriber row,
``tp-<account pk>``), a "ppv" add-on that entitles an account to buy, PPV events and funded buyers.

``ppv_world`` freezes the clock at ``T0`` so that every expiry in the tests is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class Buyer:
    customer: object
    account: object
    ref: str  # the subscriber id the platform sends ("tp-<account pk>")


@dataclass
class PpvWorld:
    actor: object
    make_customer: object
    platform: object
    other_platform: object  # a second platform with its own subscribers and events
    tv_plan: object  # main product "tv" (iptv), grants package "basic" on ``platform``
    ppv_plan: object  # add-on "ppv" (service ppv): the PPV entitlement
    other_tv_plan: object  # main product granting "basic" on ``other_platform``

    def event(self, external_id: str = "fight", price_minor: int = 100, currency: str = "USD", *,
              platform=None, title: str | None = None, content_owner: str = "Fight Promotions Ltd", **fields):
        from tripleplay import clock
        from tripleplay.iptv.models import PpvEvent

        now = clock.now()
        return PpvEvent.objects.create(platform=platform or self.platform, external_id=external_id,
                                       title=title or f"Event {external_id}", price_minor=price_minor,
                                       currency=currency, content_owner=content_owner, first_seen_at=now,
                                       updated_at=now, **fields)

    def buyer(self, funds_minor: int = 0, *, balance_model: str = "prepaid", credit_limit_minor: int = 0,
              ppv: bool = True, other_platform: bool = False) -> Buyer:
        """A customer with one account (TV, plus the ppv add-on unless ``ppv=False``), paid ``funds_minor``."""
        from tripleplay.customers.services import create_account
        from tripleplay.iptv.models import Subscriber
        from tripleplay.ledger.services import record_payment
        from tripleplay.money import Money

        customer = self.make_customer(balance_model, credit_limit_minor=credit_limit_minor)
        main = self.other_tv_plan if other_platform else self.tv_plan
        account = create_account(self.actor, customer, main_plan=main, addon_plans=[self.ppv_plan] if ppv else [])
        if funds_minor:
            record_payment(self.actor, customer, Money(funds_minor, "USD"), idempotency_key=f"fund-{customer.pk}")
        sub = Subscriber.objects.get(account=account)
        assert sub.platform == (self.other_platform if other_platform else self.platform)
        assert sub.external_id == f"tp-{account.pk}"
        return Buyer(customer, account, sub.external_id)


def _platform(actor, code: str):
    from tripleplay import clock
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage

    platform = create_platform(actor, code=code, name=code.title(), kind="ministra", base_url="http://127.0.0.1:9",
                               username="u", secret="s", timeout_seconds="1")
    now = clock.now()
    package = ChannelPackage.objects.create(platform=platform, external_id="basic", name="Basic",
                                            first_seen_at=now, updated_at=now)
    return platform, package


@pytest.fixture
def ppv_world(db, actor, make_customer) -> PpvWorld:
    from tripleplay import clock
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.iptv.packages import link_package

    clock.freeze(T0)
    platform, basic = _platform(actor, "ppvtv")
    other, other_basic = _platform(actor, "othertv")
    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    tv_plan = create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
    link_package(actor, basic, tv)
    other_tv = create_product(actor, code="other-tv", name="Other TV", kind="main", currency="USD", services=["iptv"])
    other_tv_plan = create_plan(actor, other_tv, code="other-tv-monthly", name="Other TV monthly",
                                periodic_fee_minor=1500)
    link_package(actor, other_basic, other_tv)
    ppv = create_product(actor, code="ppv", name="Pay-per-view", kind="addon", currency="USD", services=["ppv"])
    ppv_plan = create_plan(actor, ppv, code="ppv-monthly", name="Pay-per-view", periodic_fee_minor=0)
    return PpvWorld(actor, make_customer, platform, other, tv_plan, ppv_plan, other_tv_plan)


# -- checks shared by the test modules ----------------------------------------------------------------


def funds(customer) -> tuple[int, int, int]:
    """(balance, held, available) in minor units."""
    from tripleplay.ledger.models import Funds

    f = Funds.objects.get(customer_id=customer.pk)
    return f.balance_minor, f.held_minor, f.available_minor


def assert_ledger_invariants() -> None:
    """For every customer: balance == sum of entries, held == sum of active holds >= 0, and each
    purchase agrees with its hold (authorized: active; confirmed: captured for the charge)."""
    from tripleplay.ledger import selectors
    from tripleplay.ledger.models import Funds
    from tripleplay.ppv.models import PpvPurchase

    for f in Funds.objects.all():
        assert f.balance_minor == selectors.sum_of_entries(f.customer_id), f"customer {f.customer_id}: balance"
        assert f.held_minor == selectors.sum_of_active_holds(f.customer_id), f"customer {f.customer_id}: held"
        assert f.held_minor >= 0
    expected_hold = {"authorized": "active", "confirmed": "captured", "refunded": "captured",
                     "cancelled": "released", "expired": "expired"}
    for p in PpvPurchase.objects.select_related("hold", "charge"):
        if p.hold is None:
            assert p.status == "declined" or p.price_minor == 0, p
            continue
        assert p.hold.amount_minor == p.price_minor
        if p.status == "confirmed" and p.charged_minor == 0:
            assert p.hold.status == "released"
        else:
            assert p.hold.status == expected_hold[p.status], (p, p.hold.status)
        if p.charge is not None:
            assert p.charge.amount_minor == -p.charged_minor == -p.hold.captured_minor


def state() -> dict:
    """Everything a PPV call may touch, to prove that a call changed nothing."""
    from tripleplay.ledger.models import Funds, Hold, LedgerEntry
    from tripleplay.ppv.models import PpvPurchase

    return {
        "purchases": list(PpvPurchase.objects.order_by("pk").values()),
        "entries": list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "amount_minor")),
        "holds": list(Hold.objects.order_by("pk").values_list("pk", "status", "amount_minor", "captured_minor")),
        "funds": list(Funds.objects.order_by("pk").values_list("customer_id", "balance_minor", "held_minor")),
    }


def pytest_generate_tests(metafunc):
    if "ppv_code_path" in metafunc.fixturenames:
        from conftest import database_vendor

        paths = ["db_functions", "python"] if database_vendor() == "postgresql" else ["python"]
        metafunc.parametrize("ppv_code_path", paths, indirect=True)


@pytest.fixture
def ppv_code_path(request, monkeypatch):
    """On PostgreSQL, run a test with the database functions of the hot path and again without them
    (tripleplay/ppv/sql/*.sql). SQLite has only the Python path."""
    from tripleplay.ppv import services

    if request.param == "python":
        monkeypatch.setattr(services, "USE_DB_FUNCTIONS", False)
    return request.param
