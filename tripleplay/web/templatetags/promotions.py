"""The promotions panel of an account on the customer page (web/promotions/account.html)."""

from __future__ import annotations

from django import template

from tripleplay.customers import selectors as customer_selectors
from tripleplay.promotions import selectors

register = template.Library()


@register.simple_tag
def account_promotions(account) -> dict:
    subscriptions = list(customer_selectors.current_products(account))
    return {"subscriptions": subscriptions,
            "grants": list(selectors.grants_of(account.customer_id).filter(assignment__account=account)),
            "offers": list(selectors.promotions().filter(is_active=True,
                                                         product_id__in={s.product_id for s in subscriptions}))}
