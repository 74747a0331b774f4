"""A simulated Stripe: a separate process speaking the part of Stripe's API that tripleplay uses,
in Stripe's own wire format (docs/payments.md, "The simulator", cites the reference followed:
https://docs.stripe.com/api and https://docs.stripe.com/webhooks). It imports nothing of billing.

    python -m tripleplay.simulators.stripe_api --port N --secret-key sk_test_... \
        --webhook-url http://127.0.0.1:8000/api/v1/payments/stripe/webhook --webhook-secret whsec_...

The API (``/v1/...``):
- requests are ``application/x-www-form-urlencoded`` with bracket notation
  (``line_items[0][price_data][unit_amount]=1250``, ``metadata[invoice]=7``); answers are JSON objects
  with their ``"object"`` type (``"checkout.session"``, ``"payment_intent"`` ...);
- ``Authorization: Bearer <secret key>``; a missing or wrong key is 401;
- ``Idempotency-Key``: a repeated POST with the same key and the same parameters gets the first answer
  again (``Idempotent-Replayed: true``); with other parameters it is 400 ``idempotency_error``;
- errors are ``{"error": {"type", "code", "message", "param"}}`` with Stripe's statuses: 400
  invalid_request_error (parameter_missing, parameter_unknown, amount_too_small, ...), 401, 402
  card_error (card_declined with a decline_code), 404 resource_missing.
Endpoints: POST /v1/customers, GET /v1/customers/{id}, POST /v1/checkout/sessions (mode payment or
setup), GET /v1/checkout/sessions/{id}, POST /v1/payment_intents (confirm, off_session),
GET /v1/payment_intents/{id}, GET /v1/setup_intents/{id}, GET /v1/payment_methods/{id},
GET /v1/customers/{id}/payment_methods, POST /v1/payment_methods/{id}/detach, POST /v1/refunds.

The hosted checkout page (what checkout.stripe.com is): GET /c/pay/{session id} is a form; its POST
with a test card number completes the session and redirects (303) to ``success_url`` with
``{CHECKOUT_SESSION_ID}`` replaced, or shows the decline. Stripe's test cards
(https://docs.stripe.com/testing#cards): 4242424242424242 succeeds; 4000000000000002 is declined
(generic_decline); 4000000000009995 is declined (insufficient_funds); 4000000000000341 can be saved
but every later charge is declined (card_declined).

Webhooks: each event (checkout.session.completed, payment_intent.succeeded,
payment_intent.payment_failed, charge.refunded) is POSTed to the webhook URL, signed
``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "{t}.{payload}" keyed by the endpoint secret>``,
re-signed at every attempt; a non-2xx answer or a transport error is retried with backoff.

The control API (``/_sim/``, JSON, a test tool without credentials):
    GET  /_sim/health
    GET  /_sim/state                  customers, sessions, payment_intents, payment_methods, refunds, events
    PUT  /_sim/webhook                {"url", "secret", "retries"?, "backoff_seconds"?}
    GET  /_sim/events/{id}/delivery   {"payload", "stripe_signature"}: the event as it would be sent now
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from tripleplay.simulators.base import Request, Response, make_server, serve_until_stopped

API_VERSION = "2025-06-30.basil"
# Stripe's minimum charge amounts for some currencies (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
MINIMUM_AMOUNT = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}

CARDS = {  # number -> (brand, behaviour)
    "4242424242424242": ("visa", "ok"),
    "4000000000000002": ("visa", "generic_decline"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000341": ("visa", "attach_then_decline"),
    "5555555555554444": ("mastercard", "ok"),
}
DECLINE_MESSAGES = {"generic_decline": "Your card was declined.",
                    "insufficient_funds": "Your card has insufficient funds."}


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None, param: str | None = None,
                 **extra):
        super().__init__(message)
        self.status, self.body = status, {"type": type_, "message": message, **extra}
        if code:
            self.body["code"] = code
        if param:
            self.body["param"] = param

    def response(self) -> Response:
        return Response.json(self.status, {"error": self.body})


def _missing(param: str) -> StripeError:
    return StripeError(400, "invalid_request_error", f"Missing required param: {param}.", code="parameter_missing",
                       param=param)


def _invalid(param: str, message: str, code: str = "parameter_invalid_string") -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def _no_such(kind: str, id_: str, param: str = "id") -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{id_}'", code="resource_missing", param=param)


def decode_form(body: bytes) -> dict:
    """Stripe's bracket notation -> nested dicts and lists: ``a[b][0][c]=v`` -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False):
        parts = [key.split("[", 1)[0]] + [p.rstrip("]") for p in key.split("[")[1:]]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def _only(params: dict, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise StripeError(400, "invalid_request_error", f"Received unknown parameter: {name}",
                              code="parameter_unknown", param=name)


def _int(params: dict, name: str, *, required: bool = True) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise _missing(name)
        return None
    if not isinstance(raw, str) or not raw.isdigit():
        raise _invalid(name, f"Invalid integer: {raw}", code="parameter_invalid_integer")
    return int(raw)


def _bool(params: dict, name: str) -> bool:
    raw = params.get(name, "false")
    if raw not in ("true", "false"):
        raise _invalid(name, f"Invalid boolean: {raw}", code="parameter_invalid_boolean")
    return raw == "true"


def _currency(params: dict, name: str = "currency") -> str:
    raw = params.get(name)
    if raw is None:
        raise _missing(name)
    if not isinstance(raw, str) or len(raw) != 3 or not raw.isalpha():
        raise _invalid(name, f"Invalid currency: {raw}.")
    return raw.lower()


def _amount(amount: int, currency: str, param: str = "amount") -> int:
    minimum = MINIMUM_AMOUNT.get(currency, 1)
    if amount < minimum:
        raise StripeError(400, "invalid_request_error",
                          f"Amount must be at least {minimum} in the smallest currency unit ({currency}).",
                          code="amount_too_small", param=param)
    return amount


def _metadata(params: dict, name: str = "metadata") -> dict:
    meta = params.get(name) or {}
    if not isinstance(meta, dict) or any(not isinstance(v, str) for v in meta.values()):
        raise _invalid(name, "Invalid metadata: a hash of strings is expected.", code="parameter_invalid_hash")
    return dict(meta)


def sign(payload: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Webhook:
    url: str = ""
    secret: str = ""
    retries: int = 5
    backoff_seconds: float = 0.5


@dataclass
class Store:
    customers: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    payment_intents: dict = field(default_factory=dict)
    setup_intents: dict = field(default_factory=dict)
    payment_methods: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)  # id -> {"event": ..., "deliveries": [...]}
    keys: dict = field(default_factory=dict)  # idempotency key -> (params, status, body)


class StripeSimulator:
    def __init__(self, *, secret_key: str, webhook: Webhook | None = None):
        self.secret_key = secret_key
        self.webhook = webhook or Webhook()
        self.store = Store()
        self.lock = threading.RLock()
        self.base_url = ""  # set once the server has a port (the hosted page's address)
        self._queue: list[str] = []
        self._wake = threading.Condition(self.lock)
        threading.Thread(target=self._deliver_loop, daemon=True).start()

    # -- ids, time ------------------------------------------------------------------------------------
    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    @staticmethod
    def now() -> int:
        return int(time.time())

    # -- dispatch ------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        try:
            if request.path.startswith("/_sim/"):
                return self.control(request), False
            if request.path.startswith("/c/pay/"):
                return self.hosted_page(request), False
            if request.path.startswith("/v1/"):
                return self.api(request), False
            return Response.json(404, {"error": {"type": "invalid_request_error",
                                                 "message": f"Unrecognized request URL ({request.method}: "
                                                            f"{request.path})."}}), False
        except StripeError as e:
            return e.response(), False

    def api(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            raise StripeError(401, "invalid_request_error",
                              "You did not provide an API key. You need to provide your API key in the "
                              "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if not hmac.compare_digest(auth[7:], self.secret_key):
            raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {auth[7:15]}****{auth[-4:]}")
        parts = [p for p in request.path.split("/") if p][1:]
        if request.method == "GET":
            return Response.json(200, self.read(parts, request))
        if request.method not in ("POST", "DELETE"):
            raise StripeError(405, "invalid_request_error", f"Unrecognized request URL ({request.method}).")
        if request.headers.get("content-type", "").split(";")[0].strip() not in ("application/x-www-form-urlencoded", ""):
            raise StripeError(400, "invalid_request_error", "Invalid request: the body must be form-encoded.")
        params = decode_form(request.body)
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key:
                seen = self.store.keys.get(key)
                if seen is not None:
                    if seen[0] != [request.path, params]:
                        raise StripeError(400, "idempotency_error",
                                          "Keys for idempotent requests can only be used with the same parameters "
                                          "they were first used with. Try using a key other than "
                                          f"'{key}' if you meant to execute a different request.")
                    return Response(seen[1], seen[2].encode(), "application/json", {"Idempotent-Replayed": "true"})
            try:
                response = Response.json(200, self.write(parts, params))
            except StripeError as e:
                response = e.response()
            if key and response.status < 500:
                self.store.keys[key] = ([request.path, params], response.status, response.body.decode())
            return response

    # -- reads ------------------------------------------------------------------------------------------
    def read(self, parts: list[str], request: Request) -> dict:
        s = self.store
        tables = {"customers": ("customer", s.customers), "checkout": None, "payment_intents":
                  ("payment_intent", s.payment_intents), "setup_intents": ("setup_intent", s.setup_intents),
                  "payment_methods": ("payment_method", s.payment_methods), "refunds": ("refund", s.refunds),
                  "charges": ("charge", s.charges)}
        with self.lock:
            if parts[:2] == ["checkout", "sessions"] and len(parts) == 3:
                return self._public(self._get("checkout.session", s.sessions, parts[2]))
            if len(parts) == 3 and parts[0] == "customers" and parts[2] == "payment_methods":
                self._get("customer", s.customers, parts[1])
                data = [self._public(pm) for pm in s.payment_methods.values() if pm["customer"] == parts[1]]
                return {"object": "list", "data": data, "has_more": False,
                        "url": f"/v1/customers/{parts[1]}/payment_methods"}
            if len(parts) == 2 and tables.get(parts[0]):
                kind, table = tables[parts[0]]
                return self._public(self._get(kind, table, parts[1]))
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL (GET: /v1/{'/'.join(parts)}).")

    @staticmethod
    def _get(kind: str, table: dict, id_: str) -> dict:
        if id_ not in table:
            raise _no_such(kind, id_)
        return table[id_]

    # -- writes -----------------------------------------------------------------------------------------
    def write(self, parts: list[str], params: dict) -> dict:
        if parts == ["customers"]:
            return self.create_customer(params)
        if parts == ["checkout", "sessions"]:
            return self.create_session(params)
        if parts == ["payment_intents"]:
            return self.create_payment_intent(params)
        if parts == ["refunds"]:
            return self.create_refund(params)
        if len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "detach":
            pm = self._get("payment_method", self.store.payment_methods, parts[1])
            pm["customer"] = None
            return self._public(pm)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL (POST: /v1/{'/'.join(parts)}).")

    def create_customer(self, params: dict) -> dict:
        _only(params, {"email", "name", "metadata", "description"})
        cus = {"id": self.new_id("cus"), "object": "customer", "created": self.now(), "livemode": False,
               "email": params.get("email"), "name": params.get("name"), "description": params.get("description"),
               "metadata": _metadata(params), "invoice_settings": {"default_payment_method": None}}
        self.store.customers[cus["id"]] = cus
        return cus

    def _customer(self, params: dict, required: bool = False) -> str | None:
        cid = params.get("customer")
        if cid is None:
            if required:
                raise _missing("customer")
            return None
        if cid not in self.store.customers:
            raise _no_such("customer", cid, "customer")
        return cid

    def create_session(self, params: dict) -> dict:
        _only(params, {"mode", "customer", "success_url", "cancel_url", "line_items", "metadata", "currency",
                       "client_reference_id", "payment_intent_data", "payment_method_types", "expires_at"})
        mode = params.get("mode")
        if mode is None:
            raise _missing("mode")
        if mode not in ("payment", "setup"):
            raise _invalid("mode", f"Invalid mode: must be one of payment, setup or subscription (got {mode}).")
        for url in ("success_url", "cancel_url"):
            value = params.get(url)
            if url == "success_url" and value is None:
                raise _missing("success_url")
            if value is not None and not urlsplit(value).scheme.startswith("http"):
                raise _invalid(url, f"Not a valid URL: {url}", code="url_invalid")
        customer = self._customer(params)
        amount, currency, items = None, None, []
        pi_data = params.get("payment_intent_data") or {}
        if mode == "payment":
            lines = params.get("line_items")
            if not isinstance(lines, list) or not lines:
                raise _missing("line_items")
            amount = 0
            for i, line in enumerate(lines):
                p = f"line_items[{i}]"
                pd = line.get("price_data") if isinstance(line, dict) else None
                if not isinstance(pd, dict):
                    raise _missing(f"{p}[price_data]")
                cur = _currency(pd, "currency")
                if currency not in (None, cur):
                    raise _invalid(f"{p}[price_data][currency]", "All line items must use the same currency.")
                currency = cur
                unit = _int(pd, "unit_amount")
                qty = _int(line, "quantity")
                if qty < 1:
                    raise _invalid(f"{p}[quantity]", "Quantity must be at least 1.")
                name = (pd.get("product_data") or {}).get("name")
                if not name:
                    raise _missing(f"{p}[price_data][product_data][name]")
                amount += unit * qty
                items.append({"description": name, "quantity": qty, "amount_total": unit * qty, "currency": cur})
            _amount(amount, currency, "line_items")
            if pi_data:
                _only(pi_data, {"metadata", "setup_future_usage", "description"})
                if pi_data.get("setup_future_usage") not in (None, "on_session", "off_session"):
                    raise _invalid("payment_intent_data[setup_future_usage]", "Invalid setup_future_usage.")
                if pi_data.get("setup_future_usage") and not customer:
                    raise _invalid("payment_intent_data[setup_future_usage]",
                                   "setup_future_usage requires a customer.", code="parameter_missing")
        else:
            if params.get("line_items"):
                raise _invalid("line_items", "You cannot pass `line_items` in `setup` mode.")
            currency = _currency(params)
            if not customer:
                raise _missing("customer")
        sid = self.new_id("cs_test")
        session = {
            "id": sid, "object": "checkout.session", "mode": mode, "status": "open", "payment_status":
            "unpaid" if mode == "payment" else "no_payment_required", "amount_total": amount, "amount_subtotal": amount,
            "currency": currency, "customer": customer, "client_reference_id": params.get("client_reference_id"),
            "metadata": _metadata(params), "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"), "payment_intent": None, "setup_intent": None,
            "url": f"{self.base_url}/c/pay/{sid}", "created": self.now(), "expires_at": self.now() + 24 * 3600,
            "livemode": False, "_line_items": items, "_payment_intent_data": pi_data,
        }
        self.store.sessions[sid] = session
        return self._public(session)

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _new_method(self, number: str, customer: str | None) -> dict:
        brand, behaviour = CARDS[number]
        pm = {"id": self.new_id("pm"), "object": "payment_method", "type": "card", "created": self.now(),
              "customer": customer, "livemode": False, "metadata": {},
              "card": {"brand": brand, "last4": number[-4:], "exp_month": 12, "exp_year": 2034, "funding": "credit",
                       "country": "US"}, "_behaviour": behaviour}
        self.store.payment_methods[pm["id"]] = pm
        return pm

    def _charge(self, pi: dict, pm: dict, *, off_session: bool) -> dict | None:
        """Charge ``pm`` for ``pi``; returns None on success, else the error body's decline fields."""
        behaviour = pm["_behaviour"]
        declined = behaviour in ("generic_decline", "insufficient_funds") or (
            behaviour == "attach_then_decline" and pm["customer"] is not None and off_session)
        ch = {"id": self.new_id("ch"), "object": "charge", "amount": pi["amount"], "currency": pi["currency"],
              "customer": pi["customer"], "payment_intent": pi["id"], "payment_method": pm["id"],
              "created": self.now(), "amount_refunded": 0, "refunded": False, "livemode": False,
              "status": "failed" if declined else "succeeded", "paid": not declined}
        self.store.charges[ch["id"]] = ch
        pi["latest_charge"], pi["payment_method"] = ch["id"], pm["id"]
        if declined:
            code = "card_declined" if behaviour != "insufficient_funds" else "card_declined"
            decline = behaviour if behaviour != "attach_then_decline" else "generic_decline"
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"type": "card_error", "code": code, "decline_code": decline,
                                        "message": DECLINE_MESSAGES.get(decline, "Your card was declined."),
                                        "payment_method": self._public(pm)}
            self.emit("payment_intent.payment_failed", pi)
            return pi["last_payment_error"]
        pi["status"], pi["amount_received"] = "succeeded", pi["amount"]
        self.emit("payment_intent.succeeded", pi)
        return None

    def _new_intent(self, amount: int, currency: str, customer: str | None, metadata: dict, **extra) -> dict:
        pi = {"id": self.new_id("pi"), "object": "payment_intent", "amount": amount, "currency": currency,
              "customer": customer, "metadata": metadata, "status": "requires_payment_method", "amount_received": 0,
              "latest_charge": None, "payment_method": None, "last_payment_error": None, "created": self.now(),
              "livemode": False, "setup_future_usage": None, "off_session": None, **extra}
        self.store.payment_intents[pi["id"]] = pi
        return pi

    def create_payment_intent(self, params: dict) -> dict:
        _only(params, {"amount", "currency", "customer", "payment_method", "confirm", "off_session", "metadata",
                       "description", "payment_method_types", "error_on_requires_action"})
        currency = _currency(params)
        amount = _amount(_int(params, "amount"), currency)
        customer = self._customer(params)
        confirm, off_session = _bool(params, "confirm"), _bool(params, "off_session")
        if off_session and not confirm:
            raise _invalid("off_session", "You may only specify `off_session` when `confirm=true`.")
        pm_id = params.get("payment_method")
        pm = None
        if pm_id is not None:
            pm = self.store.payment_methods.get(pm_id)
            if pm is None:
                raise _no_such("payment_method", pm_id, "payment_method")
            if pm["customer"] != customer:
                raise _invalid("payment_method", f"The provided PaymentMethod {pm_id} was previously used without "
                               "being attached to a Customer or it was detached from a Customer, and may not be used "
                               "again.") if pm["customer"] is None else _invalid(
                    "payment_method", f"The provided PaymentMethod {pm_id} belongs to another customer.")
        if confirm and pm is None:
            raise _missing("payment_method")
        pi = self._new_intent(amount, currency, customer, _metadata(params), description=params.get("description"),
                              off_session=off_session)
        if confirm:
            error = self._charge(pi, pm, off_session=off_session)
            if error is not None:
                raise StripeError(402, "card_error", error["message"], code=error["code"],
                                  decline_code=error["decline_code"], charge=pi["latest_charge"],
                                  payment_intent=self._public(pi))
        return self._public(pi)

    def create_refund(self, params: dict) -> dict:
        _only(params, {"payment_intent", "charge", "amount", "reason", "metadata"})
        pi_id = params.get("payment_intent")
        if pi_id is None and params.get("charge") is None:
            raise _missing("charge")
        if pi_id is not None:
            pi = self.store.payment_intents.get(pi_id)
            if pi is None:
                raise _no_such("payment_intent", pi_id, "payment_intent")
            ch = self.store.charges.get(pi["latest_charge"] or "")
        else:
            ch = self.store.charges.get(params["charge"])
            if ch is None:
                raise _no_such("charge", params["charge"], "charge")
        if ch is None or ch["status"] != "succeeded":
            raise _invalid("payment_intent", f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                           code="charge_not_refundable")
        remaining = ch["amount"] - ch["amount_refunded"]
        if remaining == 0:
            raise _invalid("charge", f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded")
        amount = _int(params, "amount", required=False)
        amount = remaining if amount is None else amount
        if amount < 1:
            raise _invalid("amount", "Refund amount must be positive.", code="parameter_invalid_integer")
        if amount > remaining:
            raise _invalid("amount", f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                           f"({remaining})", code="amount_too_large")
        if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise _invalid("reason", "Invalid reason: must be one of duplicate, fraudulent or requested_by_customer.")
        re = {"id": self.new_id("re"), "object": "refund", "amount": amount, "currency": ch["currency"],
              "charge": ch["id"], "payment_intent": ch["payment_intent"], "reason": params.get("reason"),
              "status": "succeeded", "metadata": _metadata(params), "created": self.now()}
        self.store.refunds[re["id"]] = re
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] == ch["amount"]
        self.emit("charge.refunded", ch)
        return re

    # -- the hosted checkout page -------------------------------------------------------------------------
    def hosted_page(self, request: Request) -> Response:
        sid = request.path.rsplit("/", 1)[-1]
        with self.lock:
            session = self.store.sessions.get(sid)
            if session is None:
                return Response(404, b"<h1>Checkout session not found</h1>", "text/html; charset=utf-8")
            if request.method == "POST":
                form = dict(parse_qsl(request.body.decode("utf-8")))
                if form.get("action") == "cancel" and session["cancel_url"]:
                    return Response(303, b"", "text/html", {"Location": session["cancel_url"]})
                error = self._complete(session, form.get("cardNumber", "").replace(" ", ""))
                if error is None:
                    return Response(303, b"", "text/html",
                                    {"Location": session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)})
                return self._page(session, error, status=402)
            return self._page(session)

    def _page(self, session: dict, error: str = "", status: int = 200) -> Response:
        if session["status"] != "open":
            body = f"<h1>This checkout session is {html.escape(session['status'])}.</h1>"
            return Response(200, body.encode(), "text/html; charset=utf-8")
        what = ("Save a card for later payments" if session["mode"] == "setup" else
                f"Pay {self._display(session['amount_total'], session['currency'])}")
        lines = "".join(f"<li>{html.escape(i['description'])} × {i['quantity']}: "
                        f"{self._display(i['amount_total'], i['currency'])}</li>" for i in session["_line_items"])
        err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        cancel = ('<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>'
                  if session["cancel_url"] else "")
        body = f"""<!doctype html><html><head><meta charset="utf-8"><title>Checkout (simulated Stripe)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>{html.escape(what)}</h1><ul>{lines}</ul>{err}
<form method="post"><label>Card number <input name="cardNumber" autocomplete="cc-number" required></label>
<label>Expiry <input name="cardExpiry" value="12 / 34"></label> <label>CVC <input name="cardCvc" value="123"></label>
<button type="submit" name="action" value="pay">{'Save card' if session['mode'] == 'setup' else 'Pay'}</button>
{cancel}</form></body></html>"""
        return Response(status, body.encode(), "text/html; charset=utf-8")

    @staticmethod
    def _display(amount: int | None, currency: str) -> str:
        if amount is None:
            return ""
        if currency in ZERO_DECIMAL:
            return f"{amount} {currency.upper()}"
        return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"

    def _complete(self, session: dict, number: str) -> str | None:
        """The customer submitted the form: returns None when the session completed, else the message shown."""
        if number not in CARDS:
            return "Your card number is invalid."
        pm = self._new_method(number, None)
        if session["mode"] == "setup":
            if pm["_behaviour"] in ("generic_decline", "insufficient_funds"):
                return DECLINE_MESSAGES[pm["_behaviour"]]
            pm["customer"] = session["customer"]
            seti = {"id": self.new_id("seti"), "object": "setup_intent", "customer": session["customer"],
                    "payment_method": pm["id"], "status": "succeeded", "usage": "off_session",
                    "created": self.now(), "metadata": {}, "livemode": False}
            self.store.setup_intents[seti["id"]] = seti
            session.update(status="complete", setup_intent=seti["id"])
            self.emit("checkout.session.completed", self._public(session))
            return None
        pi_data = session["_payment_intent_data"]
        pi = session["payment_intent"] and self.store.payment_intents[session["payment_intent"]]
        if not pi:
            pi = self._new_intent(session["amount_total"], session["currency"], session["customer"],
                                  _metadata(pi_data) if pi_data else {},
                                  setup_future_usage=pi_data.get("setup_future_usage"))
            session["payment_intent"] = pi["id"]
        if pi_data.get("setup_future_usage"):
            pm["customer"] = session["customer"]
        error = self._charge(pi, pm, off_session=False)
        if error is not None:
            if pi_data.get("setup_future_usage"):
                pm["customer"] = None
            return error["message"]
        session.update(status="complete", payment_status="paid")
        self.emit("checkout.session.completed", self._public(session))
        return None

    # -- events and their delivery ------------------------------------------------------------------------
    def emit(self, type_: str, obj: dict) -> dict:
        event = {"id": self.new_id("evt"), "object": "event", "api_version": API_VERSION, "created": self.now(),
                 "type": type_, "livemode": False, "pending_webhooks": 1,
                 "data": {"object": json.loads(json.dumps(self._public(obj)))},
                 "request": {"id": None, "idempotency_key": None}}
        with self.lock:
            self.store.events[event["id"]] = {"event": event, "deliveries": []}
            self._queue.append(event["id"])
            self._wake.notify()
        return event

    def delivery(self, event_id: str) -> dict:
        payload = json.dumps(self.store.events[event_id]["event"])
        return {"payload": payload, "stripe_signature": sign(payload, self.webhook.secret, self.now())}

    def _deliver_loop(self) -> None:
        import httpx

        http = httpx.Client(timeout=10, trust_env=False)
        while True:
            with self.lock:
                while not self._queue or not self.webhook.url:
                    self._wake.wait(0.5)
                event_id = self._queue.pop(0)
                hook = self.webhook
            for attempt in range(hook.retries + 1):
                d = self.delivery(event_id)
                try:
                    r = http.post(hook.url, content=d["payload"].encode(),
                                  headers={"Content-Type": "application/json; charset=utf-8",
                                           "Stripe-Signature": d["stripe_signature"],
                                           "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
                    result = {"at": self.now(), "status": r.status_code, "body": r.text[:500]}
                except httpx.HTTPError as e:
                    result = {"at": self.now(), "status": None, "body": f"{type(e).__name__}: {e}"}
                with self.lock:
                    self.store.events[event_id]["deliveries"].append(result)
                if result["status"] is not None and 200 <= result["status"] < 300:
                    break
                time.sleep(hook.backoff_seconds * (2 ** attempt))

    # -- control ------------------------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if parts == ["health"]:
            return Response.json(200, {"ok": True, "name": "stripe"})
        if parts == ["state"]:
            with self.lock:
                s = self.store
                state = {name: {k: self._public(v) for k, v in getattr(s, name).items()} for name in
                         ("customers", "sessions", "payment_intents", "setup_intents", "payment_methods", "charges",
                          "refunds")}
                state["events"] = [{"id": k, "type": v["event"]["type"], "object_id": v["event"]["data"]["object"]["id"],
                                    "deliveries": v["deliveries"]} for k, v in s.events.items()]
                state["webhook"] = {"url": self.webhook.url, "secret_set": bool(self.webhook.secret)}
                return Response.json(200, state)
        if parts == ["webhook"] and request.method == "PUT":
            body = request.json() or {}
            with self.lock:
                self.webhook = Webhook(body.get("url", ""), body.get("secret", self.webhook.secret),
                                       int(body.get("retries", 5)), float(body.get("backoff_seconds", 0.5)))
                self._wake.notify()
            return Response.json(200, {"url": self.webhook.url})
        if len(parts) == 3 and parts[0] == "events" and parts[2] == "delivery":
            with self.lock:
                if parts[1] not in self.store.events:
                    return Response.json(404, {"error": "no such event"})
                return Response.json(200, self.delivery(parts[1]))
        return Response.json(404, {"error": f"no control endpoint {request.method} {request.path}"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tripleplay.simulators.stripe_api",
                                description="Run a simulated Stripe API and hosted checkout on loopback.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--secret-key", default="sk_test_tripleplay", help="the API key accepted (Bearer)")
    p.add_argument("--webhook-url", default="", help="where events are POSTed (none: kept until configured)")
    p.add_argument("--webhook-secret", default="whsec_tripleplay", help="the endpoint secret that signs events")
    p.add_argument("--webhook-retries", type=int, default=5)
    p.add_argument("--webhook-backoff-seconds", type=float, default=0.5)
    args = p.parse_args(argv)
    sim = StripeSimulator(secret_key=args.secret_key, webhook=Webhook(args.webhook_url, args.webhook_secret,
                                                                     args.webhook_retries, args.webhook_backoff_seconds))
    try:
        server = make_server(sim, args.host, args.port)  # duck-typed: make_server needs only dispatch()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    sim.base_url = f"http://{host}:{port}"
    serve_until_stopped(server, {"simulator": "stripe", "url": sim.base_url})
    return 0


if __name__ == "__main__":
    sys.exit(main())
