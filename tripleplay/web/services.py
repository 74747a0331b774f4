"""The one write the web interface composes itself: the sign-up wizard creates a customer and its
accounts in a single transaction, so a refused account (a login already taken, a plan in another
currency, a refused coupon code) leaves no half-signed-up customer behind. Everything inside is the
domain services' own work (customers.services, which also queue the IPTV provisioning in the same
transaction; promotions.services for the coupon)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from tripleplay.catalog.models import SubscriptionPlan
from tripleplay.core.actors import Actor
from tripleplay.customers import services as customer_services
from tripleplay.customers.models import Customer
from tripleplay.promotions import services as promotion_services


@dataclass
class AccountRequest:
    main_plan: SubscriptionPlan
    addon_plans: list[SubscriptionPlan] = field(default_factory=list)
    login: str | None = None
    device_id: str | None = None
    phone_number: str | None = None


def sign_up(actor: Actor, customer_fields: dict, accounts: list[AccountRequest],
            coupon_code: str | None = None) -> Customer:
    """The customer, its accounts and, with a coupon code, the coupon's promotion on the first new
    product it applies to (promotions.services.redeem_at_sign_up): all or nothing."""
    code = promotion_services.sign_up_code(coupon_code)  # a malformed code: refused before any write
    with transaction.atomic():
        customer = customer_services.create_customer(actor, **customer_fields)
        created = [customer_services.create_account(actor, customer, main_plan=a.main_plan, addon_plans=a.addon_plans,
                                                    login=a.login, device_id=a.device_id, phone_number=a.phone_number)
                   for a in accounts]
        if code is not None:
            promotion_services.redeem_at_sign_up(actor, created, code)
    return customer
