from datetime import timedelta

import pytest


@pytest.fixture
def make_batch(db, actor):
    """``make_batch(value_minor=1000, count=3, currency="USD", days=30)`` -> CreatedBatch (codes included)."""
    from tripleplay import clock
    from tripleplay.money import Money
    from tripleplay.vouchers.services import create_batch

    keys = iter(range(1, 10**6))

    def make(value_minor=1000, count=3, currency="USD", days=30, name="Top-up 10"):
        return create_batch(actor, name=name, value=Money(value_minor, currency), count=count,
                            expires_at=clock.now() + timedelta(days=days), idempotency_key=f"batch-{next(keys)}")

    return make


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Exact times in the rows (the root conftest resets the clock after each test)."""
    from datetime import UTC, datetime

    from tripleplay import clock

    clock.freeze(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


def batch_for_tests(name: str = "Top-up 10", *, value_minor: int = 1000, count: int = 3, currency: str = "USD",
                    days: int = 30):
    """A batch created by the system actor (for other apps' tests); returns the batch."""
    from tripleplay import clock
    from tripleplay.core.actors import Actor
    from tripleplay.money import Money
    from tripleplay.vouchers.services import create_batch

    return create_batch(Actor.system("test"), name=name, value=Money(value_minor, currency), count=count,
                        expires_at=clock.now() + timedelta(days=days), idempotency_key=f"test-batch-{name}").batch
