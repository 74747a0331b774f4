"""settings.TRIPLEPLAY_PPV_DB_FUNCTIONS (env TRIPLEPLAY_PPV_DB_FUNCTIONS) turns PostgreSQL's
one-statement authorize and confirm off: the Python path answers, the same."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tripleplay.ppv import services

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("on", [True, False])
def test_the_setting_picks_the_path(ppv_world, on):
    w = ppv_world
    w.event("fete", 1999)
    buyer = w.buyer(10_000)
    with override_settings(TRIPLEPLAY_PPV_DB_FUNCTIONS=on), CaptureQueriesContext(connection) as queries:
        a = services.authorize(w.platform, transaction_id="one", subscriber=buyer.ref, event_id="fete")
        c = services.confirm(w.platform, transaction_id="one")
    assert (a["result"], c["result"], c["available_minor"]) == ("approved", "confirmed", 8001)
    called = [q["sql"].split("(")[0] for q in queries.captured_queries if q["sql"].startswith("SELECT ppv_")]
    assert called == (["SELECT ppv_authorize_approve", "SELECT ppv_confirm_charge"] if on else [])
