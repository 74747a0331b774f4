"""Bundle rules (the operator's writes) and the bundle discounts of fees being invoiced
(docs/charging.md "Bundle discounts", D139-D142).

``post_fee_discounts`` is called by the invoice run (tripleplay.invoicing.services._issue) inside the
transaction that issues a batch of invoices, with the customers locked, before the lines are built:
it computes, set-wise for the whole batch (three queries, whatever the batch size), the discount each
rule gives each recurring fee on those invoices, and posts them through the ledger's set-based API
as credit entries (source ``bundle``, idempotency key ``bundle:<rule>:<fee entry>``: one discount per
rule and fee, ever). The invoice then carries them as their own lines, beside the fees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.bundles import discounts as rules
from tripleplay.bundles.models import BundleRule
from tripleplay.catalog.models import ProductService, ServiceType
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.core.idempotency import fingerprint
from tripleplay.customers.models import Account, AccountProduct
from tripleplay.ledger import bulk as ledger_bulk
from tripleplay.ledger import selectors as ledger_selectors

SOURCE = "bundle"
FEE_SOURCE = "subscription"  # tripleplay.subscriptions.services.SOURCE
_SERVICES = [s.value for s in ServiceType]
_MAX_TIERS = 10


# -- rules -------------------------------------------------------------------------------------------


def _service_list(value, field: str, *, required: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise InvalidInput(f"{field} must be a list of service types", details={"field": field})
    for s in value:
        v.choice(s, field, _SERVICES)
    if required and not value:
        raise InvalidInput(f"{field} must name at least one service type", details={"field": field})
    return sorted(set(value))


def _percent(value, field: str) -> int:
    """A percentage as text ("20", "12.5"), to basis points (2000, 1250)."""
    try:
        exact = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        exact = None
    if exact is None or not exact.is_finite() or not (0 < exact <= 100) or (exact * 100) % 1:
        raise InvalidInput(f"{field} must be a percentage above 0 and at most 100, with at most two decimals, as text",
                           details={"field": field})
    return int(exact * 100)


def _tiers(value) -> list[dict]:
    if not isinstance(value, list) or not 1 <= len(value) <= _MAX_TIERS:
        raise InvalidInput(f"tiers must be a list of 1 to {_MAX_TIERS} tiers", details={"field": "tiers"})
    out = []
    for i, tier in enumerate(value):
        field = f"tiers[{i}]"
        if not isinstance(tier, dict):
            raise InvalidInput(f"{field} must be an object", details={"field": field})
        unknown = set(tier) - {"services", "at_least", "percent", "amount_minor"}
        if unknown:
            raise InvalidInput(f"{field} has unknown members: {', '.join(sorted(unknown))}", details={"field": field})
        services = _service_list(tier.get("services"), f"{field}.services", required=True)
        at_least = tier.get("at_least", len(services))
        if isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least <= len(services):
            raise InvalidInput(f"{field}.at_least must be from 1 to the number of its services",
                               details={"field": "tiers", "tier": i})
        if ("percent" in tier) == ("amount_minor" in tier):
            raise InvalidInput(f"{field} needs exactly one of percent and amount_minor",
                               details={"field": "tiers", "tier": i})
        clean = {"services": services, "at_least": at_least}
        if "percent" in tier:
            clean["percent"] = str(Decimal(_percent(tier["percent"], f"{field}.percent")) / 100)
        else:
            clean["amount_minor"] = v.minor_amount(tier["amount_minor"], f"{field}.amount_minor", minimum=1)
        out.append(clean)
    return out


def _day(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD)", details={"field": field}) from None


def _check(fields: dict) -> dict:
    """The rule's fields, checked together (a fixed amount needs a currency; some fee to discount)."""
    fixed = any("amount_minor" in t for t in fields["tiers"])
    if fixed and not fields["currency"]:
        raise InvalidInput("a tier with amount_minor needs the rule's currency", details={"field": "currency"})
    if not fields["fee_service_types"] and not fields["fee_products"]:
        raise InvalidInput("name the fees it discounts: fee_service_types or fee_products",
                           details={"field": "fee_service_types"})
    until = fields["active_until"]
    if until is not None and until <= fields["active_from"]:
        raise InvalidInput("active_until must be after active_from", details={"field": "active_until"})
    return fields


def _clean(*, name, tiers, fee_service_types, fee_products, currency, active_from, active_until) -> dict:
    products = fee_products if fee_products is not None else []
    if not isinstance(products, list) or not all(isinstance(p, str) and 0 < len(p) <= 64 for p in products):
        raise InvalidInput("fee_products must be a list of product codes", details={"field": "fee_products"})
    return _check({
        "name": v.text(name, "name", required=True, max_length=100),
        "tiers": _tiers(tiers),
        "fee_service_types": _service_list(fee_service_types if fee_service_types is not None else [],
                                           "fee_service_types", required=False),
        "fee_products": sorted(set(products)),
        "currency": v.currency(currency) if currency else "",
        "active_from": _day(active_from, "active_from"),
        "active_until": None if active_until is None else _day(active_until, "active_until"),
    })


def _unique_name(name: str, exclude: int | None = None) -> None:
    if BundleRule.objects.filter(name=name).exclude(pk=exclude).exists():
        raise Conflict(f"a bundle rule named {name!r} exists", code="duplicate", details={"field": "name"})


@transaction.atomic
def create_rule(actor: Actor, *, name: str, tiers: list, fee_service_types: list | None = None,
                fee_products: list | None = None, currency: str = "", active_from=None,
                active_until=None) -> BundleRule:
    """A bundle rule. ``fee_service_types`` defaults to every service type its tiers name."""
    if fee_service_types is None and not fee_products and isinstance(tiers, list):
        fee_service_types = sorted({s for t in tiers if isinstance(t, dict) and isinstance(t.get("services"), list)
                                    for s in t["services"] if isinstance(s, str)})
    fields = _clean(name=name, tiers=tiers, fee_service_types=fee_service_types, fee_products=fee_products,
                    currency=currency, active_from=active_from if active_from is not None else clock.today(),
                    active_until=active_until)
    _unique_name(fields["name"])
    now = clock.now()
    rule = BundleRule(created_at=now, updated_at=now, **fields)
    rule.set_actor(actor)
    rule.save()
    record(actor, "bundle_rule.created", rule, **_audit(fields))
    return rule


@transaction.atomic
def update_rule(actor: Actor, rule: BundleRule, **changes) -> BundleRule:
    """Change any of the rule's fields (the others stay). Discounts already posted stay as they are:
    a change counts for fees invoiced from now on."""
    allowed = {"name", "tiers", "fee_service_types", "fee_products", "currency", "active_from", "active_until"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}", details={"field": sorted(unknown)[0]})
    rule = BundleRule.objects.select_for_update().get(pk=rule.pk)
    current = {f: getattr(rule, f) for f in allowed}
    fields = _clean(**{**current, **changes})
    _unique_name(fields["name"], exclude=rule.pk)
    for f, value in fields.items():
        setattr(rule, f, value)
    rule.updated_at = clock.now()
    rule.save()
    record(actor, "bundle_rule.updated", rule, **_audit(fields))
    return rule


def _audit(fields: dict) -> dict:
    return {k: (val.isoformat() if isinstance(val, date) else val) for k, val in fields.items()}


def as_rule(rule: BundleRule) -> rules.Rule:
    """The pure rule of a stored one."""
    tiers = tuple(rules.Tier(services=frozenset(t["services"]), at_least=t["at_least"],
                             percent_bp=int(Decimal(t["percent"]) * 100) if "percent" in t else 0,
                             amount_minor=t.get("amount_minor", 0)) for t in rule.tiers)
    return rules.Rule(id=rule.pk, name=rule.name, tiers=tiers, fee_service_types=frozenset(rule.fee_service_types),
                      fee_products=frozenset(rule.fee_products), currency=rule.currency,
                      active_from=rule.active_from, active_until=rule.active_until)


# -- discounts at invoicing ----------------------------------------------------------------------------


def _fee(e, currency: str, products: dict[int, str]) -> rules.Fee | None:
    """The recurring fee an invoice entry charges, or None (not a periodic subscription fee)."""
    data = e.data or {}
    if e.source != FEE_SOURCE or e.amount_minor >= 0 or data.get("kind") != "periodic":
        return None
    try:
        start, end = date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_end"])
        assignment = int(data["assignment"])
    except (KeyError, TypeError, ValueError):
        return None
    return rules.Fee(entry_id=e.id, assignment=assignment, product=products.get(assignment, ""),
                     service_type=e.service_type, currency=currency, amount_minor=-e.amount_minor, start=start, end=end)


def post_fee_discounts(actor: Actor, now: datetime, invoiced: list[tuple[int, str, list]],
                       entry: Callable[..., object]) -> dict[int, list]:
    """Post the bundle discounts of the recurring fees among ``invoiced``: (customer id, currency,
    its entries being invoiced: objects with id, amount_minor, source, service_type, description,
    data). Inside the caller's transaction, its customers locked and not closed. Returns customer id
    -> the discount entries posted, each made by ``entry(id=, kind=, amount_minor=, source=,
    service_type=, description=, data=)``."""
    # Every rule, ended ones too: a rule that ended mid-period still discounts that period's days before
    # its end (the pure rule counts only the days it was in force). Operators keep a handful of rules.
    active = list(BundleRule.objects.order_by("id"))
    if not active:
        return {}
    candidates = {cid: (currency, [e for e in entries if e.source == FEE_SOURCE and e.amount_minor < 0])
                  for cid, currency, entries in invoiced}
    candidates = {cid: c for cid, c in candidates.items() if c[1]}
    if not candidates:
        return {}
    holdings, products = _holdings(list(candidates))
    mode = settings.TRIPLEPLAY_ROUNDING
    pure = [as_rule(r) for r in active]
    found: list[tuple[int, rules.Discount, str]] = []
    for cid, (currency, entries) in candidates.items():
        fees = [f for f in (_fee(e, currency, products) for e in entries) if f is not None]
        described = {e.id: e.description for e in entries}
        found.extend((cid, d, described[d.fee.entry_id])
                     for d in rules.discounts(pure, fees, holdings.get(cid, []), mode))
    if not found:
        return {}
    keys = [_key(d) for _, d, _ in found]
    done = ledger_selectors.posted_keys(keys)
    found = [f for f, key in zip(found, keys, strict=True) if key not in done]
    postings = [ledger_bulk.Posting(
        customer_id=cid, amount_minor=d.amount_minor, currency=d.fee.currency,
        description=_description(d, fee_text), source=SOURCE, reference=d.rule.name[:100],
        idempotency_key=_key(d), request_fingerprint=fingerprint(rule=d.rule.id, fee=d.fee.entry_id,
                                                                 amount=d.amount_minor),
        data=_data(d), service_type=d.fee.service_type) for cid, d, fee_text in found]
    ids = ledger_bulk.post_entries(actor, now, postings)
    out: dict[int, list] = defaultdict(list)
    for p, pk in zip(postings, ids, strict=True):
        out[p.customer_id].append(entry(id=pk, kind="credit", amount_minor=p.amount_minor, source=SOURCE,
                                        service_type=p.service_type, description=p.description, data=p.data))
    return dict(out)


def _key(d: rules.Discount) -> str:
    return f"bundle:{d.rule.id}:{d.fee.entry_id}"


def _description(d: rules.Discount, fee_text: str) -> str:
    days = "" if d.held_days == d.of_days else f" ({d.held_days} of {d.of_days} days)"
    return f"{d.rule.name}: bundle discount{days} on {fee_text}"[:200]


def _data(d: rules.Discount) -> dict:
    return {"kind": "bundle_discount", "rule": d.rule.id, "rule_name": d.rule.name, "fee_entry": d.fee.entry_id,
            "assignment": d.fee.assignment, "period_start": d.fee.start.isoformat(),
            "period_end": d.fee.end.isoformat(), "days": d.held_days, "of_days": d.of_days}


def _holdings(customer_ids: list[int]) -> tuple[dict[int, list[rules.Holding]], dict[int, str]]:
    """Every product the customers have had (customer -> holdings) and assignment -> product code: two
    queries for the whole batch."""
    # The accounts first, then their products by account (D261): as one join the planner hashed the
    # batch's thousand accounts against a scan of every assignment (400,000 at 100,000 customers).
    owner = dict(Account.objects.filter(customer_id__in=customer_ids).values_list("id", "customer_id"))
    rows = [(pk, owner[account_id], product_id, code, start, end) for pk, account_id, product_id, code, start, end
            in AccountProduct.objects.filter(account_id__in=list(owner)).values_list(
                "id", "account_id", "product_id", "product__code", "start_date", "end_date")]
    services: dict[int, set[str]] = defaultdict(set)
    for product_id, service in ProductService.objects.filter(
            product_id__in={r[2] for r in rows}).values_list("product_id", "service_type"):
        services[product_id].add(service)
    holdings: dict[int, list[rules.Holding]] = defaultdict(list)
    products = {}
    for pk, cid, product_id, code, start, end in rows:
        holdings[cid].append(rules.Holding(pk, code, frozenset(services[product_id]), start, end))
        products[pk] = code
    return holdings, products
