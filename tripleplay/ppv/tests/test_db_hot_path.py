"""PostgreSQL's one-round-trip authorize and confirm (migration 0002_db_hot_path) against the Python
path: the same answers, the same rows (purchase, hold, entry, audit events, funds, fingerprints), and
every case the functions do not cover handed to the Python path with nothing written.
(The whole of test_ppv.py also runs on PostgreSQL once with the functions and once without.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.idempotency import fingerprint
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.ppv import services
from tripleplay.ppv.models import PpvPurchase
from tripleplay.ppv.tests.conftest import assert_ledger_invariants, state

pytestmark = pytest.mark.postgres

TITLE = 'Fête "Ringside" \\ Ω 🥊 night'  # quotes, a backslash, non-ASCII and an astral character


@pytest.fixture
def w(ppv_world):
    yield ppv_world
    assert_ledger_invariants()


def _rows(buyer) -> dict:
    """Everything the calls wrote for ``buyer``, with the database ids replaced by what they stand for."""
    holds = {h.pk: i for i, h in enumerate(Hold.objects.filter(customer=buyer.customer).order_by("pk"))}
    entries = {e.pk: i for i, e in enumerate(LedgerEntry.objects.filter(customer=buyer.customer).order_by("pk"))}
    purchases = []
    for p in PpvPurchase.objects.filter(customer=buyer.customer).order_by("pk"):
        answers = {call: {k: v for k, v in a.items() if k != "authorization_id"} for call, a in p.answers.items()}
        purchases.append((p.transaction_id, p.subscriber_ref == buyer.ref, p.account_id == buyer.account.pk,
                          p.event_ref, p.event_id is not None, p.title, p.content_owner, p.price_minor, p.currency,
                          p.status, p.decline_code, holds.get(p.hold_id), entries.get(p.charge_id), p.charged_minor,
                          p.authorized_at, p.expires_at, p.finished_at, answers))
    hold_rows = []
    for h in Hold.objects.filter(customer=buyer.customer).order_by("pk"):
        assert h.request_fingerprint == fingerprint(customer=h.customer_id, amount=h.amount_minor, currency=h.currency,
                                                    account=h.account_id, reference=h.reference,
                                                    description=h.description)
        hold_rows.append((h.account_id == buyer.account.pk, h.amount_minor, h.currency, h.status,
                          h.idempotency_key.rsplit(":", 1)[1], h.reference, h.description, h.created_at, h.expires_at,
                          h.settled_at, h.captured_minor, entries.get(h.entry_id)))
    entry_rows = []
    for e in LedgerEntry.objects.filter(customer=buyer.customer).order_by("pk"):
        hold = Hold.objects.filter(entry=e).first()
        if hold is not None:
            assert e.idempotency_key == f"hold:{hold.pk}:capture"
            assert e.request_fingerprint == fingerprint(hold=hold.pk, amount=-e.amount_minor)
        entry_rows.append((e.kind, e.amount_minor, e.currency, e.balance_after_minor, e.description, e.reason,
                           e.source, e.reference, e.service_type, e.created_at, e.data, e.actor_kind, e.actor_ref,
                           e.actor_name, e.account_id == buyer.account.pk))
    audit = []
    for a in AuditEvent.objects.filter(object_type="hold", object_id__in=[str(pk) for pk in holds]).order_by("pk"):
        data = dict(a.data)
        if "customer" in data:
            assert data.pop("customer") == buyer.customer.pk
        if "entry" in data:
            data["entry"] = entries[data["entry"]]
        audit.append((a.action, holds[int(a.object_id)], a.at, a.actor_kind, a.actor_ref, a.actor_name, data))
    f = Funds.objects.get(customer=buyer.customer)
    return {"purchases": purchases, "holds": hold_rows, "entries": entry_rows, "audit": audit,
            "funds": (f.balance_minor, f.held_minor, f.credit_limit_minor)}


def _scenario(w, buyer, prefix: str) -> list:
    """Approvals, declines, replays, confirms (full, lower, again, other amount), cancel, expiry."""
    p = w.platform
    out = []

    def call(fn, **kw):
        answer = fn(p, **kw)
        out.append(({k: v for k, v in answer.items() if k != "authorization_id"}, answer.http_status))

    sub = buyer.ref
    call(services.authorize, transaction_id=f"{prefix}1", subscriber=sub, event_id="fete")
    call(services.authorize, transaction_id=f"{prefix}1", subscriber=sub, event_id="fete")  # a retry
    call(services.authorize, transaction_id=f"{prefix}1", subscriber=sub, event_id="other")  # reused id
    call(services.confirm, transaction_id=f"{prefix}1")
    call(services.confirm, transaction_id=f"{prefix}1")  # a retry
    call(services.confirm, transaction_id=f"{prefix}1", amount_minor=1)  # another amount
    call(services.authorize, transaction_id=f"{prefix}2", subscriber=sub, price_minor=700, currency="USD")
    call(services.confirm, transaction_id=f"{prefix}2", amount_minor=650)  # lower than held
    call(services.authorize, transaction_id=f"{prefix}3", subscriber=sub, event_id="fete")
    call(services.confirm, transaction_id=f"{prefix}3", amount_minor=5000)  # above the hold: 422
    call(services.confirm, transaction_id=f"{prefix}3", amount_minor=0)  # zero: released, no charge
    call(services.authorize, transaction_id=f"{prefix}4", subscriber=sub, event_id="fete")
    call(services.cancel, transaction_id=f"{prefix}4")
    call(services.confirm, transaction_id=f"{prefix}4")  # 409 cancelled
    call(services.authorize, transaction_id=f"{prefix}5", subscriber=sub, event_id="fete")
    clock.freeze(clock.now() + timedelta(minutes=20))
    call(services.confirm, transaction_id=f"{prefix}5")  # expired
    call(services.authorize, transaction_id=f"{prefix}6", subscriber=sub, event_id="nope")  # unknown event
    call(services.authorize, transaction_id=f"{prefix}7", subscriber=sub, event_id="fete", price_minor=1)  # mismatch
    call(services.authorize, transaction_id=f"{prefix}8", subscriber=sub, price_minor=0)  # free: no hold
    call(services.confirm, transaction_id=f"{prefix}8")
    call(services.authorize, transaction_id=f"{prefix}9", subscriber=sub, price_minor=10 ** 9)  # insufficient
    call(services.authorize, transaction_id=f"{prefix}10", subscriber="tp-0", event_id="fete")  # unknown subscriber
    call(services.purchase, transaction_id=f"{prefix}11", subscriber=sub, event_id="fete")
    return out


def _normalized(value, prefix: str, ref: str):
    """The run's transaction ids (``<prefix><n>``) and subscriber id, as if both runs had used the same."""
    if isinstance(value, str):
        return "SUB" if value == ref else re.sub(rf"\b{prefix}(\d+)\b", r"T\1", value)
    if isinstance(value, dict):
        return {k: _normalized(v, prefix, ref) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_normalized(v, prefix, ref) for v in value)
    return value


def test_the_database_functions_and_the_python_path_write_the_same(w, monkeypatch):
    w.event("fete", 1999, title=TITLE, content_owner="Ringside ✓ Ltd")
    w.event("other", 100)
    t0 = clock.now()
    results = {}
    for path, prefix in (("db_functions", "X"), ("python", "Y")):
        clock.freeze(t0)
        monkeypatch.setattr(services, "USE_DB_FUNCTIONS", path == "db_functions")
        buyer = w.buyer(10_000)
        answers = _scenario(w, buyer, prefix)
        results[path] = _normalized((answers, _rows(buyer)), prefix, buyer.ref)
    assert results["db_functions"][0] == results["python"][0]
    assert results["db_functions"][1] == results["python"][1]
    answers, rows = results["db_functions"]
    assert [a[0]["code"] for a in answers] == [
        "ok", "ok", "transaction_id_reused", "ok", "ok", "transaction_id_reused", "ok", "ok", "ok", "invalid_amount",
        "ok", "ok", "ok", "authorization_cancelled", "ok", "authorization_expired", "unknown_event", "price_mismatch",
        "ok", "ok", "insufficient_funds", "unknown_subscriber", "ok"]
    assert rows["entries"][1][4] == "PPV: " + TITLE
    assert rows["funds"] == (10_000 - 1999 - 650 - 1999, 0, 0)


def _sql_of(queries) -> list[str]:
    return [q["sql"].split("(")[0] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_an_approval_and_a_charge_are_one_statement_each(w):
    w.event("fete", 1999, title=TITLE)
    buyer = w.buyer(10_000)
    with CaptureQueriesContext(connection) as authorize_queries:
        a = services.authorize(w.platform, transaction_id="one", subscriber=buyer.ref, event_id="fete")
    with CaptureQueriesContext(connection) as confirm_queries:
        c = services.confirm(w.platform, transaction_id="one")
    assert (a["result"], c["result"], c["amount_minor"], c["available_minor"]) == ("approved", "confirmed", 1999, 8001)
    assert _sql_of(authorize_queries.captured_queries) == ["SELECT ppv_authorize_approve"]
    assert _sql_of(confirm_queries.captured_queries) == ["SELECT ppv_confirm_charge"]


def test_the_two_calls_are_prepared_statements_executed_again(w):
    # Django's defaults (client-side binding, prepare_threshold None) would make prepare=True a no-op
    # and PostgreSQL would parse and plan every call (D51).
    w.event("fete", 1999)
    buyer = w.buyer(10_000)
    for tx in ("p1", "p2", "p3"):
        assert services.authorize(w.platform, transaction_id=tx, subscriber=buyer.ref, event_id="fete")["result"] \
            == "approved"
        assert services.confirm(w.platform, transaction_id=tx)["result"] == "confirmed"
    with connection.cursor() as cursor:
        cursor.execute("SELECT split_part(statement, '(', 1), generic_plans + custom_plans FROM pg_prepared_statements"
                       " WHERE statement LIKE 'SELECT ppv_%%' ORDER BY 1")
        assert cursor.fetchall() == [("SELECT ppv_authorize_approve", 3), ("SELECT ppv_confirm_charge", 3)]
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE 'SELECT ppv_%%'")
        assert cursor.fetchone()[0] == 0  # nothing else of Django's is prepared


def test_what_the_functions_do_not_cover_is_handed_over_with_nothing_written(w):
    w.event("fete", 1999)
    buyer = w.buyer(1000)
    before = state()
    with connection.cursor() as cursor:  # insufficient funds: the function declines to decide
        cursor.execute("SELECT ppv_authorize_approve(%s, 'x', %s, 'fete', NULL, NULL, %s, %s, %s, 'x', '{}'::jsonb,"
                       " 'api_client', 'r', 'n')", [w.platform.pk, buyer.ref, clock.now(), clock.today(),
                                                    clock.now() + timedelta(minutes=15)])
        assert cursor.fetchone()[0] is None
        cursor.execute("SELECT ppv_confirm_charge(%s, 'c', 'x', NULL, NULL, %s, 'api_client', 'r', 'n')",
                       [w.platform.pk, clock.now()])
        assert cursor.fetchone()[0] is None
    assert state() == before


def test_numbers_beyond_bigint_are_the_python_paths_to_refuse(w):
    w.event("fete", 1999)
    buyer = w.buyer(10_000)
    a = services.authorize(w.platform, transaction_id="big", subscriber=buyer.ref, event_id="fete")
    huge = services.confirm(w.platform, transaction_id="big", amount_minor=10 ** 30)
    assert (a["result"], huge.http_status, huge["code"]) == ("approved", 422, "invalid_amount")
    assert services.confirm(w.platform, authorization_id=10 ** 30).http_status == 404
    declined = services.authorize(w.platform, transaction_id="big2", subscriber=buyer.ref, event_id="fete",
                                  price_minor=10 ** 30)
    assert declined["code"] == "price_mismatch"
    assert services.confirm(w.platform, transaction_id="big")["result"] == "confirmed"


@pytest.mark.parametrize("text", ["plain", 'q"uote', "back\\slash", "tab\tnew\nline\r\x08\x0c\x01\x7f", "é€", "🥊x",
                                  ""])
def test_py_json_matches_python(db, text):
    import json

    with connection.cursor() as cursor:
        cursor.execute("SELECT ppv_py_json(%s)", [text])
        assert cursor.fetchone()[0] == json.dumps(text)


def test_the_tables_a_pair_writes_keep_only_the_indexes_a_query_needs(db):
    # Each index below is written by every authorize + confirm pair (docs/ppv.md, "The hot path",
    # fewer index writes; D52): no varchar_pattern_ops twins of unique keys, partial indexes where a query only
    # reads open rows or non-NULL values. Adding one here should be a decision, not a side effect.
    with connection.cursor() as cursor:
        cursor.execute(r"SELECT tablename, regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree ',"
                       r" '\1') FROM pg_indexes WHERE tablename IN ('ledger_hold', 'ledger_ledgerentry',"
                       r" 'audit_auditevent', 'ppv_ppvpurchase') ORDER BY 1, 2")
        indexes = cursor.fetchall()
    assert indexes == [
        ("audit_auditevent", "(action)"),
        ("audit_auditevent", "(at)"),
        ("audit_auditevent", "(object_type, object_id)"),
        ("audit_auditevent", "UNIQUE (id)"),
        ("ledger_hold", "(customer_id)"),
        ("ledger_hold", "(expires_at) WHERE ((status)::text = 'active'::text)"),
        ("ledger_hold", "UNIQUE (entry_id) WHERE (entry_id IS NOT NULL)"),
        ("ledger_hold", "UNIQUE (id)"),
        ("ledger_hold", "UNIQUE (idempotency_key)"),
        ("ledger_ledgerentry", "(created_at)"),
        ("ledger_ledgerentry", "(customer_id, created_at)"),
        ("ledger_ledgerentry", "(customer_id, id)"),
        ("ledger_ledgerentry", "UNIQUE (id)"),
        ("ledger_ledgerentry", "UNIQUE (idempotency_key)"),
        ("ppv_ppvpurchase", "(account_id)"),
        ("ppv_ppvpurchase", "(customer_id, authorized_at)"),
        ("ppv_ppvpurchase", "(event_id)"),
        ("ppv_ppvpurchase", "(expires_at) WHERE ((status)::text = 'authorized'::text)"),
        ("ppv_ppvpurchase", "UNIQUE (charge_id) WHERE (charge_id IS NOT NULL)"),
        ("ppv_ppvpurchase", "UNIQUE (hold_id)"),
        ("ppv_ppvpurchase", "UNIQUE (id)"),
        ("ppv_ppvpurchase", "UNIQUE (platform_id, transaction_id)"),
        ("ppv_ppvpurchase", "UNIQUE (refund_entry_id) WHERE (refund_entry_id IS NOT NULL)"),
    ]
