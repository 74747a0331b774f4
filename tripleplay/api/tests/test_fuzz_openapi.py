"""Schemathesis over the whole published OpenAPI document (/api/v1/openapi.json), every operation in
it, with every check: no server error, every status and every answer's shape declared, the declared
content type, data the schema forbids refused and data it allows accepted, required headers
enforced (D98).

The requests go through the production WSGI application (tripleplay.wsgi: the chunked-body reader,
the lean PPV path, Django), in process, on the test database of the run (SQLite or PostgreSQL). Each
generated request is sent with an admin, a finance and a support token in turn; the platforms' PPV
calls with a platform's inbound token, a softswitch's voice calls with its switch token and the IVR's
voucher redemption with an IVR client's token. Bounded: FUZZ_EXAMPLES examples per operation (environment
TRIPLEPLAY_FUZZ_EXAMPLES, default 5) from a fixed seed, so that CI finds the same cases every run;
TRIPLEPLAY_FUZZ_EXAMPLES=500 TRIPLEPLAY_FUZZ_RANDOM=1 searches deeper on a developer's machine.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tripleplay.api import ppv_wsgi
from tripleplay.api.tests.conftest import SYSTEM
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.sessions.services import create_softswitch
from tripleplay.vouchers.services import create_ivr_client
from tripleplay.wsgi import application

FUZZ_EXAMPLES = int(os.environ.get("TRIPLEPLAY_FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("TRIPLEPLAY_FUZZ_RANDOM") == "1"
ROLES = ("admin", "finance", "support")


# The document as the application serves it (no database needed to render it), bound to the application.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def tokens(db, monkeypatch, admin, finance, support, api_catalog, customer, prepaid) -> dict[str, str]:
    """A token per role and a platform's inbound token, with a small catalog and two customers to find."""
    # As django.test.Client does: the test's transaction is not a stale connection to close.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(ppv_wsgi, "connection_upkeep", lambda: None)
    platform = create_platform(SYSTEM, code="fuzz-tv", name="Fuzz TV", kind="matrixstream",
                               base_url="http://127.0.0.1:9/", username="u", secret="s", timeout_seconds="2")
    try:
        _switch, switch_token = create_softswitch(SYSTEM, code="fuzz-switch")
        _ivr, ivr_token = create_ivr_client(SYSTEM, name="fuzz-ivr")
        yield {"admin": admin.token, "finance": finance.token, "support": support.token,
               "platform": issue_inbound_token(SYSTEM, platform), "switch": switch_token, "ivr": ivr_token}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


PLATFORM_CALLS = {f"/api/v1/ppv/{call}" for call in ("authorize", "confirm", "cancel", "purchase")} | {
    "/api/v1/orders", "/api/v1/orders/balance"}  # orders from the TV screen (docs/orders.md)
# The other real-time callers, each with its own token: a softswitch's calls, an IVR's redemptions.
SWITCH_CALLS = {"/api/v1/voice/authorize", "/api/v1/voice/update", "/api/v1/voice/terminate",
                "/api/v1/voice/calls/{call_id}"}
IVR_CALLS = {"/api/v1/ivr/voucher-redemptions"}


def callers(path: str) -> tuple[str, ...]:
    if path in PLATFORM_CALLS:
        return ("platform",)
    if path in SWITCH_CALLS:
        return ("switch",)
    if path in IVR_CALLS:
        return ("ivr",)
    return ROLES

# Refusals of schema-valid input that are not the document's fault: rules about other records or the
# state of this one (a plan of the wrong kind, a product without that service, a closed customer, ...).
# The edge's own codes are not among them: a schema-valid request refused with one of those means the
# document promised what the server does not take.
EDGE_CODES = {"invalid_input", "invalid_json", "idempotency_key_required", "invalid_idempotency_key",
              "unknown_currency", "payload_too_large", "bad_request", "method_not_allowed"}


# Rules between fields, which no JSON schema of the document states (the fields' descriptions do):
# (method, path, the field the refusal names).
CROSS_FIELD_RULES = {
    ("POST", "/api/v1/customers", "credit_limit_minor"),  # a prepaid customer has no credit limit
    ("PATCH", "/api/v1/customers/{customer_id}", "credit_limit_minor"),
    ("POST", "/api/v1/customers", "bill_cycle_day"),  # 1..31 monthly, 1..15 semimonthly, 1..7 weekly, 1 daily
    ("PATCH", "/api/v1/customers/{customer_id}", "bill_cycle_day"),
    ("POST", "/api/v1/ppv/confirm", "transaction_id"),  # a transaction_id or an authorization_id
    ("POST", "/api/v1/ppv/cancel", "transaction_id"),
    ("POST", "/api/v1/ppv/authorize", "event_id"),  # an event_id or an explicit price_minor
    ("POST", "/api/v1/ppv/purchase", "event_id"),
    ("GET", "/api/v1/ppv/revenue", "to"),  # not before "from", at most MAX_REVENUE_DAYS after it
    ("POST", "/api/v1/ppv/events", "ends_at"),  # after starts_at
    # bundle rules: a tier has a percent or an amount (not both) and at_least <= its services; a fixed
    # amount needs the rule's currency; active_until after active_from; some fee to discount.
    *((method, path, field) for method, path in (("POST", "/api/v1/bundle-rules"),
                                                 ("PATCH", "/api/v1/bundle-rules/{rule_id}"))
      for field in ("tiers", "currency", "active_until", "fee_service_types")),
}


def _error(response) -> dict:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    return error if isinstance(error, dict) else {}


def _error_code(response) -> str | None:
    return _error(response).get("code")


def _domain_refusal(response, case) -> bool:
    if not 400 <= response.status_code < 500:
        return False
    error = _error(response)
    if error.get("code") == "invalid_input" and "errors" not in error.get("details", {}):
        return (case.method.upper(), case.path, error["details"].get("field")) in CROSS_FIELD_RULES
    return error.get("code") not in (None, *EDGE_CODES)


@schemathesis.check
def positive_data_accepted(ctx, response, case):
    """schemathesis's positive_data_acceptance, but a domain rule's refusal (a code of its own) is an answer."""
    if _domain_refusal(response, case):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def negative_data_refused(ctx, response, case):
    """schemathesis's negative_data_rejection, but not for a query parameter generated as an object: the
    transport sends it as the object's Python text ("{'a': 1}"), a valid value of a text parameter, so
    the request that arrives is not the negative one the case describes."""
    if any(isinstance(v, dict) for v in (case.query or {}).values()):
        return None
    return negative_data_rejection(ctx, response, case)


@schemathesis.check
def no_server_error(ctx, response, case):
    """schemathesis's not_a_server_error, but a 502 the operation declares (a platform that cannot be
    reached: the fuzz platform's address refuses connections) is an answer, in the error shape."""
    if response.status_code == 502 and "502" in case.operation.definition.raw.get("responses", {}) and \
            _error_code(response) in ("platform_unavailable", "platform_error"):
        return None
    return not_a_server_error(ctx, response, case)


@schema.hook
def map_body(context, body):
    """The integer rule the document states: an integer is a JSON integer (1250, never 1250.0), which
    JSON Schema's "integer" cannot say. Integral floats that stand for integers are sent as integers."""
    return _integers(body)


def _integers(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    return value


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, tokens):
    for role in callers(case.path):
        case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"},
                               excluded_checks=[positive_data_acceptance, not_a_server_error, negative_data_rejection],
                               additional_checks=[positive_data_accepted, no_server_error, negative_data_refused])
