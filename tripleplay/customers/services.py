"""Customer and account writes: sign-up, details, products on accounts, status changes, and each
source's hold on a customer (set_block, lift_block) with the status derived from the holds.

Lock order (docs/concurrency.md): customer row, then its accounts (by id), then the funds row.

The funds row and the IPTV platforms follow these changes through tripleplay.customers.hooks, called
in each change's transaction; the ledger (tripleplay.ledger.apps) and IPTV provisioning
(tripleplay.iptv.apps) register the handlers, as both sit above this app.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import Alignment, BillingPeriod, CatalogStatus, ProductKind, SubscriptionPlan
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from tripleplay.customers import metadata as integration
from tripleplay.customers import selectors
from tripleplay.customers.blocking import deciding_hold, effective_status, lifted_by_operator
from tripleplay.customers.hooks import ACCOUNT_CHANGED, CREDIT_LIMIT_CHANGED, CUSTOMER_CHANGED, CUSTOMER_SIGNED_UP
from tripleplay.customers.models import (
    TRANSITIONS,
    Account,
    AccountProduct,
    AccountStatusChange,
    AssignmentRole,
    BalanceModel,
    BlockEffect,
    BlockSource,
    Customer,
    CustomerBlock,
    CustomerStatusChange,
    Status,
)
from tripleplay.money import Money

_CONTACT_FIELDS = ("name", "email", "phone", "address_line1", "address_line2", "city", "postal_code", "country")
_CYCLE_DAY_RANGE = {BillingPeriod.DAILY: (1, 1), BillingPeriod.WEEKLY: (1, 7), BillingPeriod.SEMIMONTHLY: (1, 15),
                    BillingPeriod.MONTHLY: (1, 31)}


def _contact(data: dict) -> dict:
    out = {}
    for f in _CONTACT_FIELDS:
        if f not in data:
            continue
        if f == "email":
            out[f] = v.email(data[f])
        elif f == "phone":
            out[f] = v.phone_e164(data[f], f)
        elif f == "country":
            c = v.text(data[f], f, max_length=2).upper()
            if c and (len(c) != 2 or not c.isalpha()):
                raise InvalidInput("country must be an ISO 3166-1 alpha-2 code such as 'DE'", details={"field": f})
            out[f] = c
        else:
            out[f] = v.text(data[f], f, required=(f == "name"))
    return out


def _billing_cycle(period: str, day: int) -> tuple[str, int]:
    period = v.choice(period, "billing_period", BillingPeriod)
    day = v.minor_amount(day, "bill_cycle_day", minimum=1)
    low, high = _CYCLE_DAY_RANGE[period]
    if not low <= day <= high:
        raise InvalidInput(f"bill_cycle_day for a {period} period must be {low}..{high}",
                           details={"field": "bill_cycle_day"})
    return period, day


def _credit_limit(balance_model: str, credit_limit_minor: int) -> int:
    credit_limit_minor = v.minor_amount(credit_limit_minor, "credit_limit_minor")
    if balance_model == BalanceModel.PREPAID and credit_limit_minor != 0:
        raise InvalidInput("a prepaid customer has no credit limit", details={"field": "credit_limit_minor"})
    return credit_limit_minor


def create_customer(actor: Actor, *, name: str, currency: str, balance_model: str, credit_limit_minor: int = 0,
                    billing_period: str = BillingPeriod.MONTHLY, bill_cycle_day: int = 1, tax_rate="0",
                    external_id: str | None = None, metadata: dict | None = None, **contact) -> Customer:
    unknown = set(contact) - set(_CONTACT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    fields = _contact({"name": name, **contact})
    fields["external_id"] = integration.external_id(external_id)
    fields["metadata"] = integration.metadata(metadata)
    _unique_external_id(Customer, fields["external_id"])
    currency = v.currency(currency)
    balance_model = v.choice(balance_model, "balance_model", BalanceModel)
    limit = _credit_limit(balance_model, credit_limit_minor)
    period, day = _billing_cycle(billing_period, bill_cycle_day)
    rate = v.percent(tax_rate, "tax_rate")
    now = clock.now()
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                currency=currency, balance_model=balance_model, billing_period=period, bill_cycle_day=day,
                tax_rate=rate, status=Status.ACTIVE, status_changed_at=now, created_at=now, **fields,
            )
            CUSTOMER_SIGNED_UP(customer, Money(limit, currency))  # the ledger opens the funds row
            _history(CustomerStatusChange(customer=customer, from_status="", to_status=Status.ACTIVE,
                                          reason="signed up", at=now), actor)
            record(actor, "customer.created", customer, name=customer.name, currency=currency,
                   balance_model=balance_model, credit_limit_minor=limit,
                   **({"external_id": fields["external_id"]} if fields["external_id"] else {}))
    except IntegrityError as e:  # a concurrent sign-up took the external id
        if fields["external_id"] is None:
            raise
        raise _external_id_taken(fields["external_id"]) from e
    return customer


def _external_id_taken(value) -> Conflict:
    return Conflict(f"external_id {value!r} is used by another row", code="duplicate",
                    details={"field": "external_id"})


def _unique_external_id(model, value: str | None, exclude_pk: int | None = None) -> None:
    if value is not None and model.objects.filter(external_id=value).exclude(pk=exclude_pk).exists():
        raise _external_id_taken(value)


def update_customer(actor: Actor, customer: Customer, **changes) -> Customer:
    """Contact details, billing cycle, tax rate, balance model and credit limit. The currency never
    changes once a customer exists (entries are in it)."""
    if "currency" in changes and changes["currency"] != customer.currency:
        raise Conflict("a customer's currency cannot change", code="currency_immutable")
    changes.pop("currency", None)
    allowed = set(_CONTACT_FIELDS) | {"billing_period", "bill_cycle_day", "tax_rate", "balance_model",
                                      "credit_limit_minor", "external_id", "metadata"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    fields = _contact(changes)
    if "billing_period" in changes or "bill_cycle_day" in changes:
        fields["billing_period"], fields["bill_cycle_day"] = _billing_cycle(
            changes.get("billing_period", customer.billing_period), changes.get("bill_cycle_day", customer.bill_cycle_day)
        )
    if "tax_rate" in changes:
        fields["tax_rate"] = v.percent(changes["tax_rate"], "tax_rate")
    if "external_id" in changes:
        fields["external_id"] = integration.external_id(changes["external_id"])
        _unique_external_id(Customer, fields["external_id"], exclude_pk=customer.pk)
    if "metadata" in changes:
        fields["metadata"] = integration.metadata(changes["metadata"])
    new_limit = None
    if "balance_model" in changes or "credit_limit_minor" in changes:
        model = v.choice(changes.get("balance_model", customer.balance_model), "balance_model", BalanceModel)
        default_limit = 0 if model == BalanceModel.PREPAID else customer.funds.credit_limit_minor
        new_limit = _credit_limit(model, changes.get("credit_limit_minor", default_limit))
        fields["balance_model"] = model
    try:
        with transaction.atomic():
            customer = _update_customer_locked(actor, customer, fields, new_limit)
    except IntegrityError as e:  # a concurrent update took the external id
        if fields.get("external_id") is None:
            raise
        raise _external_id_taken(fields["external_id"]) from e
    return customer


def _update_customer_locked(actor: Actor, customer: Customer, fields: dict, new_limit: int | None) -> Customer:
    # Re-read under the lock and save only the changed fields: a stale instance must neither
    # reopen a customer closed meanwhile nor overwrite a concurrent status change.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    if "billing_period" in fields and _cycle_changes(customer, fields):
        _refuse_if_aligned(customer)
    for k, val in fields.items():
        setattr(customer, k, val)
    if fields:
        customer.save(update_fields=list(fields))
    if new_limit is not None:
        CREDIT_LIMIT_CHANGED(actor, customer, Money(new_limit, customer.currency))
    if fields:
        record(actor, "customer.updated", customer, **{k: str(val) for k, val in fields.items()})
    if "name" in fields:  # the platforms keep the subscriber's full name
        CUSTOMER_CHANGED(actor, customer, "Customer/Updated")
    return customer


def _cycle_changes(customer: Customer, fields: dict) -> bool:
    return (fields["billing_period"], fields["bill_cycle_day"]) != (customer.billing_period, customer.bill_cycle_day)


def _refuse_if_aligned(customer: Customer) -> None:
    """A plan aligned to the billing period numbers its periods from the bill-cycle day (D94): moving
    that day under a running subscription would move periods already charged. End those products
    (or change them to anniversary plans) first."""
    aligned = (AccountProduct.objects.filter(account__customer=customer, plan__alignment=Alignment.BILLING_PERIOD)
               .filter(Q(end_date__isnull=True) | Q(end_date__gt=clock.today())))
    codes = sorted(set(aligned.values_list("plan__code", flat=True)))
    if codes:
        raise Conflict("the billing cycle cannot change while products on plans aligned to it run: "
                       + ", ".join(codes), code="aligned_subscriptions", details={"plans": codes})


def _history(change, actor: Actor):
    change.set_actor(actor)
    change.save()
    return change


def _check_transition(current: str, target: str, what: str) -> str:
    target = v.choice(target, "status", Status)
    if target == current:
        raise TransitionNotAllowed(f"{what} is already {current}", details={"from": current, "to": target})
    if target not in TRANSITIONS[current]:
        raise TransitionNotAllowed(
            f"{what} cannot go from {current} to {target}",
            details={"from": current, "to": target, "allowed": sorted(TRANSITIONS[current])},
        )
    return target


# -- customer status: each source's hold, the status derived (tripleplay.customers.blocking) ----------

_EFFECT_OF_STATUS = {Status.SUSPENDED: BlockEffect.SUSPEND, Status.BLOCKED: BlockEffect.BLOCK}


def change_customer_status(actor: Actor, customer: Customer, status: str, *, reason: str) -> Customer:
    """The operator's status change (API, web UI): suspend or block (the operator's hold), unsuspend
    or unblock (to active: lifts the operator's and collections' holds), or close. The transition
    asked for is checked against the customer's status as the operator sees it. Closing a customer
    closes every one of its accounts. Closed is final."""
    reason = v.text(reason, "reason", required=True)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        target = _check_transition(customer.status, status, f"customer #{customer.pk}")
        now = clock.now()
        if target == Status.CLOSED:
            return _close_customer(actor, customer, reason, now)
        if target in _EFFECT_OF_STATUS:
            _hold(actor, customer, BlockSource.OPERATOR, _EFFECT_OF_STATUS[target], reason, now)
        else:
            holds = list(selectors.current_blocks(customer))
            liftable = lifted_by_operator(holds)
            if not liftable:
                held_by = sorted({h.source for h in holds})
                raise Conflict(f"customer #{customer.pk} is held by {', '.join(held_by)}, which a status "
                               f"change does not lift", code="held_by_another_source",
                               details={"held_by": held_by})
            for h in liftable:
                _end_hold(actor, h, reason, now)
        return _settle_status(actor, customer, reason, now)


def set_block(actor: Actor, customer: Customer, source: str, effect: str, *, reason: str) -> Customer:
    """``source`` holds ``customer`` with ``effect`` (suspend or block), replacing its own earlier
    hold if it had another effect; the status is derived again in the same transaction (history,
    audit and the IPTV provisioning when it changes). Holding it again with the same effect is a
    no-op. A closed customer cannot be held."""
    source = v.choice(source, "source", BlockSource)
    effect = v.choice(effect, "effect", BlockEffect)
    reason = v.text(reason, "reason", required=True)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.status == Status.CLOSED:
            raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
        now = clock.now()
        if not _hold(actor, customer, source, effect, reason, now):
            return customer
        return _settle_status(actor, customer, reason, now)


def lift_block(actor: Actor, customer: Customer, source: str, *, reason: str) -> Customer:
    """``source`` lets go of ``customer``; the status is derived again in the same transaction. The
    customer stays suspended or blocked while another source holds it. A no-op if ``source`` does
    not hold it."""
    source = v.choice(source, "source", BlockSource)
    reason = v.text(reason, "reason", required=True)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        current = selectors.current_block(customer, source)
        if current is None:
            return customer
        now = clock.now()
        _end_hold(actor, current, reason, now)
        return _settle_status(actor, customer, reason, now)


def _hold(actor: Actor, customer: Customer, source: str, effect: str, reason: str, now) -> bool:
    """Write ``source``'s hold (customer row locked); False if it already holds with ``effect``."""
    current = selectors.current_block(customer, source)
    if current is not None:
        if current.effect == effect:
            return False
        _end_hold(actor, current, f"replaced by {effect}: {reason}", now)
    hold = CustomerBlock(customer=customer, source=source, effect=effect, reason=reason[:200], since=now)
    hold.set_actor(actor)
    hold.save()  # the row is the record of who placed it, when and why (as CustomerStatusChange is)
    return True


def _end_hold(actor: Actor, hold: CustomerBlock, reason: str, now) -> None:
    hold.lifted_at, hold.lift_reason, hold.lifted_by = now, reason[:200], str(actor)[:190]
    hold.save(update_fields=["lifted_at", "lift_reason", "lifted_by"])


def _settle_status(actor: Actor, customer: Customer, reason: str, now) -> Customer:
    """Store the status the current holds give (customer row locked). When it changes: the status
    history, the audit event and the provisioning commands, as for any status change. The status
    reason is the deciding hold's (why it is suspended or blocked), or ``reason`` once active; it
    follows the deciding hold even when the status stays (one suspension lifted, another holds)."""
    previous = customer.status
    if previous == Status.CLOSED:
        return customer  # final
    holds = list(selectors.current_blocks(customer))
    target = effective_status(holds, closed=False)
    deciding = deciding_hold(holds)
    if target == previous:
        if deciding is not None and deciding.reason != customer.status_reason:
            customer.status_reason = deciding.reason
            customer.save(update_fields=["status_reason"])
        return customer
    why = deciding.reason if deciding is not None else reason[:200]
    customer.status, customer.status_reason, customer.status_changed_at = target, why, now
    customer.save(update_fields=["status", "status_reason", "status_changed_at"])
    _record_status_change(actor, customer, previous, target, why, now)
    return customer


def _close_customer(actor: Actor, customer: Customer, reason: str, now) -> Customer:
    """Closed is final whatever held the customer: every hold ends with it, so that no source
    finds a closed customer still held (a payment would try to lift it)."""
    previous = customer.status
    for hold in selectors.current_blocks(customer):
        _end_hold(actor, hold, f"customer closed: {reason}", now)
    customer.status, customer.status_reason, customer.status_changed_at = Status.CLOSED, reason, now
    customer.closed_at = now
    for account in customer.accounts.select_for_update().exclude(status=Status.CLOSED).order_by("id"):
        _set_account_status(actor, account, Status.CLOSED, f"customer closed: {reason}", now)
    customer.save()
    _record_status_change(actor, customer, previous, Status.CLOSED, reason, now)
    return customer


def _record_status_change(actor: Actor, customer: Customer, previous: str, target: str, reason: str, now) -> None:
    _history(CustomerStatusChange(customer=customer, from_status=previous, to_status=target, reason=reason,
                                  at=now), actor)
    record(actor, "customer.status_changed", customer, **{"from": previous, "to": target, "reason": reason})
    CUSTOMER_CHANGED(actor, customer, status_event("Customer", previous, target))


def status_event(level: str, previous: str, target: str) -> str:
    """PortaBilling's provisioning event name for a status change (Account/Blocked, ...)."""
    if target == Status.BLOCKED:
        return f"{level}/Blocked"
    if previous == Status.BLOCKED and target == Status.ACTIVE:
        return f"{level}/Unblocked"
    if target == Status.SUSPENDED:
        return f"{level}/Status/Suspend"
    if previous == Status.SUSPENDED and target == Status.ACTIVE:
        return f"{level}/Status/Unsuspend"
    return f"{level}/Status/Closed"


# -- accounts -----------------------------------------------------------------------------------


def _identifier(value, field: str) -> str | None:
    value = v.text(value, field, max_length=100)
    return value or None


def _phone(value) -> str | None:
    value = _identifier(value, "phone_number")
    if value is not None:
        digits = value[1:] if value.startswith("+") else value
        if not digits.isdigit() or not 3 <= len(digits) <= 15:
            raise InvalidInput("phone_number must be 3..15 digits, optionally with a leading +",
                               details={"field": "phone_number"})
        value = digits
    return value


def _sellable_plan(plan: SubscriptionPlan, customer: Customer, role: str) -> SubscriptionPlan:
    product = plan.product
    field = "main_plan_id" if role == AssignmentRole.MAIN else "addon_plan_ids"
    if plan.status != CatalogStatus.ACTIVE or product.status != CatalogStatus.ACTIVE:
        raise Conflict(f"plan {plan.code!r} is retired and cannot be sold", code="plan_retired",
                       details={"field": field})
    expected = ProductKind.MAIN if role == AssignmentRole.MAIN else ProductKind.ADDON
    if product.kind != expected:
        raise InvalidInput(f"product {product.code!r} is a {product.kind} product, not a {expected} product",
                           code="wrong_product_kind", details={"field": field})
    if product.currency != customer.currency:
        raise InvalidInput(f"product {product.code!r} is sold in {product.currency}, the customer pays in "
                           f"{customer.currency}", code="currency_mismatch", details={"field": field})
    return plan


def _unique_identifiers(fields: dict, exclude_pk: int | None = None) -> None:
    for field, value in fields.items():
        if value is None:
            continue
        qs = Account.objects.filter(**{field: value})
        if exclude_pk:
            qs = qs.exclude(pk=exclude_pk)
        if qs.exists():
            raise Conflict(f"{field} {value!r} is used by another account", code="duplicate",
                           details={"field": field})


def create_account(actor: Actor, customer: Customer, *, main_plan: SubscriptionPlan,
                   addon_plans: list[SubscriptionPlan] = (), login: str | None = None,
                   device_id: str | None = None, phone_number: str | None = None,
                   start_date: date | None = None, external_id: str | None = None,
                   metadata: dict | None = None) -> Account:
    """A new service endpoint of ``customer`` with its main product and any add-ons."""
    idents = {"login": _identifier(login, "login"), "device_id": _identifier(device_id, "device_id"),
              "phone_number": _phone(phone_number), "external_id": integration.external_id(external_id)}
    labels = integration.metadata(metadata)
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    _sellable_plan(main_plan, customer, AssignmentRole.MAIN)
    for p in addon_plans:
        _sellable_plan(p, customer, AssignmentRole.ADDON)
    if len({p.product_id for p in addon_plans}) != len(addon_plans):
        raise InvalidInput("the same add-on product is listed twice", details={"field": "addon_plan_ids"})
    _unique_identifiers(idents)
    now = clock.now()
    start = start_date or clock.today()
    try:
        with transaction.atomic():
            account = Account.objects.create(customer=customer, status=Status.ACTIVE, status_changed_at=now,
                                             created_at=now, metadata=labels, **idents)
            _history(AccountStatusChange(account=account, from_status="", to_status=Status.ACTIVE,
                                         reason="created", at=now), actor)
            _assign(account, main_plan, AssignmentRole.MAIN, start, now)
            for p in addon_plans:
                _assign(account, p, AssignmentRole.ADDON, start, now)
            record(actor, "account.created", account, customer=customer.pk, main_plan=main_plan.code,
                   addon_plans=[p.code for p in addon_plans],
                   **{k: val for k, val in idents.items() if k != "external_id" or val})
            ACCOUNT_CHANGED(actor, account, "Account/New")
    except IntegrityError as e:  # a concurrent sign-up took an identifier
        raise Conflict("an identifier of this account is used by another account", code="duplicate") from e
    return account


def _assign(account: Account, plan: SubscriptionPlan, role: str, start: date, now) -> AccountProduct:
    return AccountProduct.objects.create(account=account, product=plan.product, plan=plan, role=role,
                                         start_date=start, created_at=now)


def update_account(actor: Actor, account: Account, **changes) -> Account:
    unknown = set(changes) - {"login", "device_id", "phone_number", "external_id", "metadata"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    if account.status == Status.CLOSED:
        raise Conflict(f"account #{account.pk} is closed", code="account_closed")
    fields = {}
    for f, val in changes.items():
        if f == "metadata":
            continue
        if f == "external_id":
            fields[f] = integration.external_id(val)
        else:
            fields[f] = _phone(val) if f == "phone_number" else _identifier(val, f)
    _unique_identifiers(fields, exclude_pk=account.pk)
    labels = {"metadata": integration.metadata(changes["metadata"])} if "metadata" in changes else {}
    try:
        with transaction.atomic():
            account = _open_account(account)  # re-read under the lock (see update_customer)
            for f, val in {**fields, **labels}.items():
                setattr(account, f, val)
            if fields or labels:
                account.save(update_fields=[*fields, *labels])
                record(actor, "account.updated", account, **fields, **labels)
            if set(fields) - {"external_id"}:
                # A new set-top box, login or phone reaches the platforms like any other change.
                ACCOUNT_CHANGED(actor, account, "Account/Updated")
    except IntegrityError as e:
        raise Conflict("an identifier of this account is used by another account", code="duplicate") from e
    return account


def _open_account(account: Account) -> Account:
    account = Account.objects.select_related("customer").select_for_update().get(pk=account.pk)
    if account.status == Status.CLOSED:
        raise Conflict(f"account #{account.pk} is closed", code="account_closed")
    return account


def _effective(day: date | None) -> date:
    return day or clock.today()


def change_main_product(actor: Actor, account: Account, plan: SubscriptionPlan, *,
                        effective_date: date | None = None) -> AccountProduct:
    """Replace the account's main product (or its plan) from ``effective_date`` (default today)."""
    with transaction.atomic():
        account = _open_account(account)
        _sellable_plan(plan, account.customer, AssignmentRole.MAIN)
        day = _effective(effective_date)
        current = account.products.select_for_update().get(role=AssignmentRole.MAIN, end_date__isnull=True)
        if current.plan_id == plan.pk:
            raise Conflict(f"account #{account.pk} is already on plan {plan.code!r}", code="no_change")
        if day < current.start_date:
            raise InvalidInput("the change cannot take effect before the current product started",
                               details={"field": "effective_date"})
        now = clock.now()
        _end(current, day, now, f"replaced by {plan.code}")
        assignment = _assign(account, plan, AssignmentRole.MAIN, day, now)
        record(actor, "account.main_product_changed", account, old_plan=current.plan.code, new_plan=plan.code,
               effective_date=day.isoformat())
        ACCOUNT_CHANGED(actor, account, "Account/Product/Changed")
    return assignment


def _end(assignment: AccountProduct, day: date, now, reason: str) -> None:
    assignment.end_date, assignment.ended_at, assignment.end_reason = day, now, reason[:200]
    assignment.save(update_fields=["end_date", "ended_at", "end_reason"])


def add_addon(actor: Actor, account: Account, plan: SubscriptionPlan, *,
              start_date: date | None = None) -> AccountProduct:
    with transaction.atomic():
        account = _open_account(account)
        _sellable_plan(plan, account.customer, AssignmentRole.ADDON)
        if account.products.filter(product_id=plan.product_id, end_date__isnull=True).exists():
            raise Conflict(f"account #{account.pk} already has {plan.product.code!r}", code="duplicate")
        assignment = _assign(account, plan, AssignmentRole.ADDON, _effective(start_date), clock.now())
        record(actor, "account.addon_added", account, plan=plan.code, product=plan.product.code,
               start_date=assignment.start_date.isoformat())
        ACCOUNT_CHANGED(actor, account, "Account/ProductAddon/Inserted")
    return assignment


def remove_addon(actor: Actor, account: Account, assignment_id: int, *, end_date: date | None = None,
                 reason: str = "removed") -> AccountProduct:
    with transaction.atomic():
        account = _open_account(account)
        try:
            assignment = account.products.select_for_update().get(pk=assignment_id, role=AssignmentRole.ADDON)
        except (AccountProduct.DoesNotExist, ValueError, TypeError):
            raise NotFound(f"account #{account.pk} has no add-on assignment {assignment_id}") from None
        if assignment.end_date is not None:
            raise Conflict(f"add-on assignment {assignment_id} has already ended", code="already_ended")
        day = _effective(end_date)
        if day < assignment.start_date:
            raise InvalidInput("an add-on cannot end before it started", details={"field": "end_date"})
        _end(assignment, day, clock.now(), v.text(reason, "reason") or "removed")
        record(actor, "account.addon_removed", account, product=assignment.product.code,
               end_date=day.isoformat())
        ACCOUNT_CHANGED(actor, account, "Account/ProductAddon/Deleted")
    return assignment


def _set_account_status(actor: Actor, account: Account, target: str, reason: str, now) -> None:
    previous = account.status
    account.status, account.status_reason, account.status_changed_at = target, reason[:200], now
    if target == Status.CLOSED:
        account.closed_at = now
        # Current products end today; products scheduled after today (a future start, a future
        # end of a replaced product) end no later than today, or at their start if not started.
        today = clock.today()
        for a in account.products.select_for_update().filter(Q(end_date__isnull=True) | Q(end_date__gt=today)):
            _end(a, max(today, a.start_date), now, "account closed")
    account.save()
    _history(AccountStatusChange(account=account, from_status=previous, to_status=target, reason=reason[:200],
                                 at=now), actor)
    record(actor, "account.status_changed", account, **{"from": previous, "to": target, "reason": reason})


def change_account_status(actor: Actor, account: Account, status: str, *, reason: str) -> Account:
    reason = v.text(reason, "reason", required=True)
    with transaction.atomic():
        account = Account.objects.select_related("customer").select_for_update().get(pk=account.pk)
        target = _check_transition(account.status, status, f"account #{account.pk}")
        if target != Status.CLOSED and account.customer.status == Status.CLOSED:
            raise Conflict(f"customer #{account.customer_id} is closed", code="customer_closed")
        previous = account.status
        _set_account_status(actor, account, target, reason, clock.now())
        ACCOUNT_CHANGED(actor, account, status_event("Account", previous, target))
    return account
