"""The PPV decision (tripleplay/ppv/decision.py): every refusal and both approvals from the pure
function, and, on PostgreSQL, every refusal handed by the fast path (ppv_authorize_approve returns
NULL, nothing written) to the Python path, which answers it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection

from tripleplay import clock
from tripleplay.customers.services import change_account_status, change_customer_status
from tripleplay.ppv import services
from tripleplay.ppv.decision import APPROVE_MESSAGE, REFUSALS, Asked, Decision, Found, Terms, decide
from tripleplay.ppv.tests.conftest import T0, state

FOUND = Found(account_id=7, account_status="active", customer_id=3, customer_status="active",
              customer_currency="USD", event_pk=11, event_title="Fight night", event_content_owner="Owner",
              event_price_minor=1999, event_currency="USD", event_on_sale=True, ppv_allowed=True)
EVENT = Terms(11, "Fight night", "Owner", 1999, "USD")
ASK_EVENT = Asked("tp-7", "fight", None, None)

# (case, asked, what differs from FOUND (None: no subscriber), expected decision)
CASES = [
    ("approve an event", ASK_EVENT, {}, Decision(None, APPROVE_MESSAGE, EVENT)),
    ("approve an event at its price and currency", Asked("tp-7", "fight", 1999, "USD"), {},
     Decision(None, APPROVE_MESSAGE, EVENT)),
    ("approve an explicit price", Asked("tp-7", None, 700, None), {},
     Decision(None, APPROVE_MESSAGE, Terms(None, "Pay-per-view purchase", "", 700, "USD"))),
    ("approve a price of zero (no hold)", Asked("tp-7", None, 0, "USD"), {},
     Decision(None, APPROVE_MESSAGE, Terms(None, "Pay-per-view purchase", "", 0, "USD"))),
    ("unknown subscriber", ASK_EVENT, None,
     Decision("unknown_subscriber", "no subscriber tp-7 on this platform", Terms(None, "", "", None, ""))),
    ("unknown event", ASK_EVENT, {"event_pk": None, "event_title": None, "event_price_minor": None},
     Decision("unknown_event", "no PPV event fight on this platform", Terms(None, "", "", None, "USD"))),
    ("price mismatch", Asked("tp-7", "fight", 1, None), {},
     Decision("price_mismatch", "the event costs 1999, not 1", Terms(11, "Fight night", "Owner", None, "USD"))),
    ("price mismatch before a closed customer", Asked("tp-7", "fight", 1, None), {"customer_status": "closed"},
     Decision("price_mismatch", "the event costs 1999, not 1", Terms(11, "Fight night", "Owner", None, "USD"))),
    ("asked currency differs from the event's", Asked("tp-7", "fight", None, "EUR"), {},
     Decision("currency_mismatch", "the event is priced in USD, not EUR", EVENT)),
    ("event not on sale", ASK_EVENT, {"event_on_sale": False},
     Decision("event_not_available", "Fight night cannot be bought now", EVENT)),
    ("event priced in another currency than the customer's", ASK_EVENT, {"event_currency": "EUR"},
     Decision("currency_mismatch", "priced in EUR, the customer pays in USD", EVENT._replace(currency="EUR"))),
    ("explicit price in another currency", Asked("tp-7", None, 700, "EUR"), {},
     Decision("currency_mismatch", "priced in EUR, the customer pays in USD",
              Terms(None, "Pay-per-view purchase", "", 700, "EUR"))),
    ("customer closed", ASK_EVENT, {"customer_status": "closed"},
     Decision("customer_closed", "purchase refused: customer closed", EVENT)),
    ("customer blocked before a blocked account", ASK_EVENT, {"customer_status": "blocked", "account_status": "blocked"},
     Decision("customer_blocked", "purchase refused: customer blocked", EVENT)),
    ("customer suspended", ASK_EVENT, {"customer_status": "suspended"},
     Decision("customer_suspended", "purchase refused: customer suspended", EVENT)),
    ("account closed", ASK_EVENT, {"account_status": "closed"},
     Decision("account_closed", "purchase refused: account closed", EVENT)),
    ("account blocked before no entitlement", ASK_EVENT, {"account_status": "blocked", "ppv_allowed": False},
     Decision("account_blocked", "purchase refused: account blocked", EVENT)),
    ("account suspended", ASK_EVENT, {"account_status": "suspended"},
     Decision("account_suspended", "purchase refused: account suspended", EVENT)),
    ("no PPV entitlement", ASK_EVENT, {"ppv_allowed": False},
     Decision("ppv_disabled", "purchase refused: ppv disabled", EVENT)),
]


@pytest.mark.parametrize("case, asked, changes, expected", CASES, ids=[c[0] for c in CASES])
def test_decide(case, asked, changes, expected):
    found = None if changes is None else FOUND._replace(**changes)
    assert decide(asked, found) == expected


def test_the_table_covers_every_refusal():
    assert {c[3].refusal for c in CASES} - {None} == set(REFUSALS)


# -- the fast path refuses nothing it should not approve ---------------------------------------------


def _unknown_subscriber(w, actor):
    w.buyer(10_000)
    return {"subscriber": "tp-0", "event_id": "fight"}


def _event(**kw):
    def setup(w, actor):
        return {"subscriber": w.buyer(10_000).ref, **kw}
    return setup


def _customer(status):
    def setup(w, actor):
        b = w.buyer(10_000)
        change_customer_status(actor, b.customer, status, reason="test")
        return {"subscriber": b.ref, "event_id": "fight"}
    return setup


def _account(status):
    def setup(w, actor):
        b = w.buyer(10_000)
        change_account_status(actor, b.account, status, reason="test")
        return {"subscriber": b.ref, "event_id": "fight"}
    return setup


def _no_entitlement(w, actor):
    return {"subscriber": w.buyer(10_000, ppv=False).ref, "event_id": "fight"}


# (refusal, how to get it): each set up on a funded buyer, so that only the rule refuses
REFUSED = [
    ("unknown_subscriber", _unknown_subscriber),
    ("unknown_event", _event(event_id="nope")),
    ("price_mismatch", _event(event_id="fight", price_minor=1)),
    ("currency_mismatch", _event(event_id="fight", currency="EUR")),
    ("currency_mismatch", _event(event_id="euro")),
    ("currency_mismatch", _event(price_minor=700, currency="EUR")),
    ("event_not_available", _event(event_id="later")),
    ("customer_closed", _customer("closed")),
    ("customer_blocked", _customer("blocked")),
    ("customer_suspended", _customer("suspended")),
    ("account_closed", _account("closed")),
    ("account_blocked", _account("blocked")),
    ("account_suspended", _account("suspended")),
    ("ppv_disabled", _no_entitlement),
]


def test_every_refusal_is_tried_on_the_fast_path():
    assert {code for code, _setup in REFUSED} == set(REFUSALS)


@pytest.mark.postgres
@pytest.mark.parametrize("code, setup", REFUSED, ids=[f"{c}-{i}" for i, (c, _s) in enumerate(REFUSED)])
def test_the_fast_path_approves_nothing_the_decision_refuses(ppv_world, actor, code, setup):
    w = ppv_world
    w.event("fight", 1999)
    w.event("euro", 1999, currency="EUR")
    w.event("later", 1999, starts_at=T0 + timedelta(seconds=1))
    request = {"event_id": None, "price_minor": None, "currency": None, **setup(w, actor)}
    before = state()
    now, expires = clock.now(), clock.now() + timedelta(minutes=15)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ppv_authorize_approve(%s, 'T1', %s, %s, %s, %s, %s, %s, %s, 'x', %s::jsonb,"
                       " 'api_client', 'r', 'n')",
                       [w.platform.pk, request["subscriber"], request["event_id"], request["price_minor"],
                        request["currency"], now, clock.today(), expires, json.dumps(request)])
        assert cursor.fetchone()[0] is None
    assert state() == before
    answer = services.authorize(w.platform, transaction_id="T1", **request)
    assert (answer["result"], answer["code"]) == ("declined", code)
