from __future__ import annotations

import pytest


@pytest.fixture
def promos(db, actor):
    """A TV product with an aligned and an anniversary plan (30.00 a month, 10.00 activation), a
    sports add-on, and promotions on them."""
    from types import SimpleNamespace

    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.promotions.services import create_promotion

    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    sports = create_product(actor, code="sports", name="Sports", kind="addon", currency="USD", services=["iptv"])
    ns = SimpleNamespace(
        tv=tv, sports=sports,
        aligned=create_plan(actor, tv, code="tv-aligned", name="TV", periodic_fee_minor=3000,
                            activation_fee_minor=1000, alignment="billing_period"),
        anniversary=create_plan(actor, tv, code="tv-anniversary", name="TV anniversary", periodic_fee_minor=3000,
                                activation_fee_minor=1000),
        sports_plan=create_plan(actor, sports, code="sports-monthly", name="Sports", periodic_fee_minor=999),
    )
    ns.half = create_promotion(actor, code="half-3", name="Three months at half price", product=tv, kind="price",
                               periods=3, percent_off=50)
    ns.trial = create_promotion(actor, code="tv-trial", name="Two weeks free", product=tv, kind="trial",
                                trial_days=14, reminder_days=3)
    ns.trial_only = create_promotion(actor, code="tv-try", name="Try TV", product=tv, kind="trial",
                                     trial_days=14, trial_converts=False)
    ns.sports_trial = create_promotion(actor, code="sports-try", name="Try Sports", product=sports, kind="trial",
                                       trial_days=7, trial_converts=False)
    return ns
