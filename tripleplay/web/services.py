"""The one write the web interface composes itself: the sign-up wizard creates a customer and its
accounts in a single transaction, so a refused account (a login already taken, a plan in another
currency) leaves no half-signed-up customer behind. Everything inside is the domain services'
own work (customers.services, which also queue the IPTV provisioning in the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from tripleplay.catalog.models import SubscriptionPlan
from tripleplay.core.actors import Actor
from tripleplay.customers import services as customer_services
from tripleplay.customers.models import Customer


@dataclass
class AccountRequest:
    main_plan: SubscriptionPlan
    addon_plans: list[SubscriptionPlan] = field(default_factory=list)
    login: str | None = None
    device_id: str | None = None
    phone_number: str | None = None


def sign_up(actor: Actor, customer_fields: dict, accounts: list[AccountRequest]) -> Customer:
    with transaction.atomic():
        customer = customer_services.create_customer(actor, **customer_fields)
        for a in accounts:
            customer_services.create_account(actor, customer, main_plan=a.main_plan, addon_plans=a.addon_plans,
                                             login=a.login, device_id=a.device_id, phone_number=a.phone_number)
    return customer
