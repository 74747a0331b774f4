"""Reads for recurring charges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from django.db.models import QuerySet

from tripleplay.catalog.models import Product, ServiceType
from tripleplay.customers.models import AccountProduct, Customer
from tripleplay.customers.selectors import held_spans_by_account
from tripleplay.promotions import selectors as promotions
from tripleplay.subscriptions import holds, schedule
from tripleplay.subscriptions.models import SubscriptionCharge

# A product's main service, the one its fees are grouped under on an invoice, when it bundles several.
SERVICE_PRIORITY = (ServiceType.IPTV, ServiceType.DATA, ServiceType.VOICE, ServiceType.MESSAGING, ServiceType.PPV)


def service_type_of(product: Product) -> str:
    types = set(product.service_types)
    return next((str(t) for t in SERVICE_PRIORITY if t in types), "")


def terms_of(assignment: AccountProduct, customer: Customer) -> schedule.Terms:
    """The plan's terms for the subscription, with its promotion grant (promos; select the
    assignments with ``promotions.GRANT`` to read it without a query each)."""
    return replace(schedule.Terms.of(assignment.plan, customer), promotion=promotions.promo_of(assignment))


def charged_items(assignment: AccountProduct) -> dict[tuple[str, int], int]:
    """(kind, period index) -> amount already charged (or credited) for ``assignment``."""
    return {(k, n): amount for k, n, amount in
            SubscriptionCharge.objects.filter(assignment=assignment).values_list("kind", "period_index", "amount_minor")}


def charges_of(customer: Customer | int) -> QuerySet[SubscriptionCharge]:
    customer_id = customer if isinstance(customer, int) else customer.pk
    return SubscriptionCharge.objects.filter(customer_id=customer_id).order_by("due_date", "id")


def due_items(customer: Customer, through: date) -> list[tuple[AccountProduct, schedule.Item]]:
    """What ``customer``'s subscriptions owe up to ``through`` and is not charged yet (for a prepaid
    customer without funds: the fees waiting for a payment)."""
    out = []
    spans = held_spans_by_account(customer)  # vacation holds (holds.py)
    for a in (AccountProduct.objects.filter(account__customer=customer, start_date__lte=through)
              .select_related("plan__product", promotions.GRANT).order_by("id")):
        terms = holds.with_holds(terms_of(a, customer), spans.get(a.account_id, ()))  # promos, vacation holds
        for item in schedule.pending(terms, a.start_date, a.end_date, through, charged_items(a)):
            out.append((a, item))
    return out
