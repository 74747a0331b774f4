"""Orders from the TV screen, and the balance a TV app shows (docs/orders.md, D180-D184).

A platform orders, for its own subscriber, an add-on (``add``), its removal (``remove``) or a main
product change (``change``), through the JSON API (tripleplay/api/orders.py) or the generic XML
protocol's ``orderRequest`` (tripleplay/api/xml.py). A reader follows an order from the endpoint here,
into subscriptions.services (the portal's own door: ``add_addon_and_charge``,
``remove_addon_and_credit``, ``change_main_product_and_charge``), which changes the account through
customers.services (whose ACCOUNT_CHANGED hook writes the IPTV outbox rows: the platform is told
back by the provisioning worker) and posts the first-day fees through the ledger.

Every order is idempotent by the platform's transaction id: the first answer is stored on the
``TvOrder`` row and returned to every retry; the same id with another request answers 409
``transaction_id_reused``. The row is inserted first, in the order's transaction: a concurrent
duplicate waits on the unique index and then answers as the winner did. Concurrency of money: the
ledger's conditional UPDATE on the funds row (insufficient_funds), never a read-then-write here.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import CatalogStatus, Product, SubscriptionPlan
from tripleplay.core.actors import Actor
from tripleplay.core.answers import Answer
from tripleplay.core.errors import DomainError, InsufficientFunds, InvalidInput
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole
from tripleplay.iptv.models import Platform, Subscriber
from tripleplay.ledger.selectors import funds_of
from tripleplay.orders.decision import ACTIONS, ADD, CHANGE, REMOVE, Asked, Found, decide
from tripleplay.orders.hooks import ORDER_PLACED
from tripleplay.orders.metrics import measured
from tripleplay.orders.models import OrderResult, TvOrder, TvOrderable
from tripleplay.subscriptions import services as subscriptions
from tripleplay.subscriptions.schedule import CREDIT_KINDS

MAX_REF = 100
ANSWER_KEYS = ("result", "code", "message", "transaction_id", "order_id", "subscriber", "action", "product", "plan",
               "amount_minor", "currency", "balance_minor", "available_minor")
BALANCE_KEYS = ("result", "code", "message", "subscriber", "currency", "balance_minor", "available_minor", "held_minor",
                "customer_status")


def _ref(value, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_REF or not value.isprintable():
        raise InvalidInput(f"{field} must be 1..{MAX_REF} printable characters", details={"field": field})
    return value.strip()


def _subscriber(platform: Platform, ref: str) -> Subscriber | None:
    """The platform's own subscriber; another platform's is not found (the same answer, D181)."""
    return Subscriber.objects.select_related("account__customer").filter(platform=platform, external_id=ref).first()


# -- the order ------------------------------------------------------------------------------------------


@measured("order")
def place_order(platform: Platform, *, transaction_id: str, subscriber: str, action: str, product: str,
                plan: str | None = None) -> Answer:
    """Do (or decline) one order for the platform's subscriber; idempotent by transaction id."""
    transaction_id = _ref(transaction_id, "transaction_id")
    subscriber = _ref(subscriber, "subscriber")
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", details={"field": "action"})
    product = _ref(product, "product")
    plan = _ref(plan, "plan", required=False)
    request = {"subscriber": subscriber, "action": action, "product": product, "plan": plan}
    existing = TvOrder.objects.filter(platform=platform, transaction_id=transaction_id).first()
    if existing is not None:
        return _replay(existing, request)
    try:
        with transaction.atomic():
            order = TvOrder.objects.create(platform=platform, transaction_id=transaction_id, subscriber_ref=subscriber,
                                           action=action, product_ref=product, plan_ref=plan or "",
                                           result=OrderResult.DECLINED, code="", created_at=clock.now(),
                                           request=request)
            answer = _decide_and_apply(platform, order)
            order.answer = {**answer, "_http": answer.http_status}
            order.save()
            if order.result == OrderResult.DONE:
                ORDER_PLACED(order)
            return answer
    except IntegrityError:
        existing = TvOrder.objects.filter(platform=platform, transaction_id=transaction_id).first()
        if existing is None:
            raise
        return _replay(existing, request)


def _replay(order: TvOrder, request: dict) -> Answer:
    if order.request != request:
        return Answer.of(409, result="error", code="transaction_id_reused",
                         message=f"transaction {order.transaction_id} was ordered with other parameters",
                         transaction_id=order.transaction_id, order_id=order.pk)
    body = {k: v for k, v in order.answer.items() if k != "_http"}
    return Answer.of(order.answer.get("_http", 200), **body)


def _body(order: TvOrder, result: str, code: str, message: str, **extra) -> Answer:
    extra = {k: extra.get(k) for k in ("amount_minor", "currency", "balance_minor", "available_minor")}
    return Answer.of(200, result=result, code=code, message=message, transaction_id=order.transaction_id,
                     order_id=order.pk, subscriber=order.subscriber_ref, action=order.action,
                     product=order.product_ref, plan=order.plan.code if order.plan_id else (order.plan_ref or None),
                     **extra)


def _decline(order: TvOrder, code: str, message: str, available: int | None = None) -> Answer:
    order.result, order.code = OrderResult.DECLINED, code
    return _body(order, "declined", code, message, available_minor=available)


def _plan_of(product: Product, plan: str | None) -> tuple[SubscriptionPlan | None, int]:
    on_sale = SubscriptionPlan.objects.filter(product=product, status=CatalogStatus.ACTIVE).order_by("id")
    if plan is not None:
        return on_sale.filter(code=plan).first(), 1
    plans = list(on_sale[:2])
    return (plans[0] if len(plans) == 1 else None), len(plans)


def _decide_and_apply(platform: Platform, order: TvOrder) -> Answer:
    asked = Asked(order.subscriber_ref, order.action, order.product_ref, order.plan_ref or None)
    sub = _subscriber(platform, asked.subscriber)
    if sub is None:
        return _decline(order, *decide(asked, None))
    # The account and customer rows, locked now by the order's own transaction, in the statement (and
    # so the order) of customers.services._open_account that the services below repeat: a declined
    # order's savepoint rolls back, and the deferred foreign-key checks of its TvOrder row at COMMIT
    # must not then queue behind concurrent orders' FOR UPDATE of the customer row (a deadlock, seen
    # on PostgreSQL with 200 parallel orders).
    account = Account.objects.select_related("customer").select_for_update().get(pk=sub.account_id)
    customer = account.customer
    order.account, order.customer = account, customer
    product = Product.objects.filter(code=asked.product).first()
    plan, plan_count = (None, 0) if product is None or asked.action == REMOVE else _plan_of(product, asked.plan)
    order.product, order.plan = product, plan
    today = clock.today()
    current = {a.product_id: a for a in AccountProduct.objects.select_related("plan")
               .filter(account=account, start_date__lte=today, end_date__isnull=True)}
    main = next((a for a in current.values() if a.role == AssignmentRole.MAIN), None)
    held = current.get(product.pk) if product is not None else None
    found = Found(customer.status, customer.currency, account.status,
                  product.kind if product else None, product.currency if product else None, plan_count,
                  plan.code if plan else (held.plan.code if held is not None and asked.action == REMOVE else None),
                  product is not None and TvOrderable.objects.filter(platform=platform, product=product).exists(),
                  main.plan.code if main else None, held is not None and held.role == AssignmentRole.ADDON)
    decision = decide(asked, found)
    if decision.refusal is not None:
        return _decline(order, *decision)
    actor = Actor.platform(platform)
    written: list = []  # the SubscriptionCharge rows of this order
    try:
        with transaction.atomic():  # a refusal below rolls back the service's work, never the order row
            if asked.action == ADD:
                assignment = subscriptions.add_addon_and_charge(actor, account, plan, written=written)
            elif asked.action == REMOVE:
                assignment = subscriptions.remove_addon_and_credit(actor, account, held.pk,
                                                                   reason="removed from the TV screen",
                                                                   written=written)
            else:
                assignment = subscriptions.change_main_product_and_charge(actor, account, plan, written=written)
    except InsufficientFunds as e:
        return _decline(order, "insufficient_funds", "available funds do not cover the first fees",
                        e.details.get("available_minor"))
    except DomainError as e:  # a concurrent change since the rule was checked (NotFound included)
        return _decline(order, e.code, e.message)
    order.assignment, order.result, order.code = assignment, OrderResult.DONE, "ok"
    order.charged_minor, order.currency = sum(-r.amount_minor if r.kind in CREDIT_KINDS else r.amount_minor
                                                     for r in written), customer.currency
    funds = funds_of(customer)
    record(actor, f"order.{asked.action}", order, subscriber=asked.subscriber, product=asked.product,
           plan=plan.code if plan else None, transaction_id=order.transaction_id, charged_minor=order.charged_minor)
    return _body(order, "done", "ok", _DONE[asked.action], amount_minor=order.charged_minor,
                 currency=customer.currency, balance_minor=funds.balance.minor, available_minor=funds.available.minor)


_DONE = {ADD: "added: first fees charged; the platform is told through provisioning",
         REMOVE: "removed: the unused part credited; the platform is told through provisioning",
         CHANGE: "changed: the old product credited, the new one charged; the platform is told through provisioning"}


# -- the balance ----------------------------------------------------------------------------------------


@measured("balance")
def balance(platform: Platform, *, subscriber: str) -> Answer:
    """The subscriber's customer's balance and available funds, for a TV app to show."""
    subscriber = _ref(subscriber, "subscriber")
    sub = _subscriber(platform, subscriber)
    if sub is None:
        return Answer.of(404, result="error", code="unknown_subscriber",
                         message=f"no subscriber {subscriber} on this platform", subscriber=subscriber)
    customer = sub.account.customer
    funds = funds_of(customer)
    return Answer.of(200, result="balance", code="ok", message="ok", subscriber=subscriber,
                     currency=funds.balance.currency, balance_minor=funds.balance.minor,
                     available_minor=funds.available.minor, held_minor=funds.held.minor,
                     customer_status=customer.status)


# -- the operator's switch ------------------------------------------------------------------------------


def set_orderable(actor: Actor, platform: Platform, product: Product, orderable: bool) -> bool:
    """Allow (or stop) orders of ``product`` from ``platform``'s TV screens. Returns whether it changed."""
    with transaction.atomic():
        if orderable:
            if product.status != CatalogStatus.ACTIVE:
                raise InvalidInput(f"product {product.code!r} is retired", code="plan_retired",
                                   details={"field": "product"})
            _, created = TvOrderable.objects.get_or_create(platform=platform, product=product,
                                                           defaults={"created_at": clock.now(),
                                                                     "created_by": actor.name[:200]})
            changed = created
        else:
            changed = TvOrderable.objects.filter(platform=platform, product=product).delete()[0] > 0
        if changed:
            record(actor, "orders.orderable_set", platform, product=product.code, orderable=orderable)
    return changed


def set_orderable_products(actor: Actor, platform: Platform, product_ids) -> int:
    """The operator UI's form: exactly ``product_ids`` (active products) orderable from ``platform``.
    Returns how many switches changed."""
    wanted = {int(i) for i in product_ids}
    products = {p.pk: p for p in Product.objects.filter(pk__in=wanted | set(
        TvOrderable.objects.filter(platform=platform).values_list("product_id", flat=True)))}
    unknown = wanted - set(products)
    if unknown:
        raise InvalidInput(f"no product {min(unknown)}", details={"field": "product_ids"})
    changed = 0
    with transaction.atomic():
        for pk, product in sorted(products.items()):
            changed += set_orderable(actor, platform, product, pk in wanted)
    return changed
