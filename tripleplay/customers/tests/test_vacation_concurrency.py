"""Overlapping vacation holds asked at the same moment (the operator and the portal, two clicks):
exactly one is scheduled. Real threads, one connection each; the account's row lock serializes them
(PostgreSQL row locks, SQLite's IMMEDIATE transactions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict
from tripleplay.customers.models import VacationHold
from tripleplay.customers.vacation import schedule_hold
from tripleplay.ledger.tests.test_concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def test_overlapping_holds_racing_schedule_one(make_customer, make_account):
    clock.freeze(datetime(2025, 6, 10, 9, tzinfo=UTC))
    account = make_account(make_customer("postpaid", credit_limit_minor=10_000))
    actor = Actor.system("hold-race")

    def ask(i):
        return schedule_hold(actor, account, start_date=date(2025, 6, 20 + i % 3), end_date=date(2025, 7, 1))

    results = run_concurrently(ask, 6)
    ok = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "error"]
    assert len(ok) == 1 and len(refused) == 5, results
    assert all(isinstance(e, Conflict) and e.code == "hold_overlaps" for e in refused), refused
    assert VacationHold.objects.filter(account=account).count() == 1
