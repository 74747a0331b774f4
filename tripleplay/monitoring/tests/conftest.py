from __future__ import annotations

import pytest

from tripleplay.monitoring import readiness


@pytest.fixture
def client(client):
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client


@pytest.fixture(autouse=True)
def _migrations_checked_again():
    """Each test asks for the migration state afresh (a process remembers once all are applied)."""
    readiness.migrations_seen_applied = False
    yield
    readiness.migrations_seen_applied = False
