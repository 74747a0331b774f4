"""Catalog: bundle rules (docs/charging.md "Bundle discounts"). Reads for every role; writes for
admins, as the API. The form has three tier rows, best first; a row without services is left out."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.bundles import selectors, services
from tripleplay.core.errors import InvalidInput
from tripleplay.money import Money
from tripleplay.web.access import ADMINS, action, page
from tripleplay.web.views.common import show

SERVICES = ("iptv", "data", "voice", "messaging")
TIER_ROWS = (1, 2, 3)


@page()
def bundle_rules(request):
    return show(request, "catalog/bundles.html", "catalog", rules=list(selectors.rules()), services=SERVICES,
                tier_rows=TIER_ROWS)


def _tiers(post, currency: str) -> list[dict]:
    tiers = []
    for n in TIER_ROWS:
        chosen = post.getlist(f"tier{n}_services")
        if not chosen:
            continue
        at_least = (post.get(f"tier{n}_at_least") or "").strip()
        tier: dict = {"services": chosen}
        if at_least:
            if not at_least.isdigit():
                raise InvalidInput(f"tier {n}: 'at least' must be a number", details={"field": f"tier{n}_at_least"})
            tier["at_least"] = int(at_least)
        percent = (post.get(f"tier{n}_percent") or "").strip()
        amount = (post.get(f"tier{n}_amount") or "").strip()
        if percent and amount:
            raise InvalidInput(f"tier {n}: a percentage or an amount, not both", details={"field": f"tier{n}_amount"})
        if amount:
            tier["amount_minor"] = Money.parse(amount, currency or "USD").minor
        else:
            tier["percent"] = percent
        tiers.append(tier)
    return tiers


@action(*ADMINS)
def bundle_rule_create(request):
    post = request.POST
    currency = (post.get("currency") or "").strip().upper()
    fee_services = post.getlist("fee_service_types")
    rule = services.create_rule(
        request.actor, name=post.get("name", ""), tiers=_tiers(post, currency), currency=currency,
        fee_service_types=fee_services or None,
        fee_products=[c.strip() for c in (post.get("fee_products") or "").split(",") if c.strip()],
        active_from=(post.get("active_from") or "").strip() or None,
        active_until=(post.get("active_until") or "").strip() or None)
    messages.success(request, f"Bundle rule {rule.name} created.")
    return redirect("web:bundle_rules")


@action(*ADMINS)
def bundle_rule_end(request, rule_id: int):
    rule = services.update_rule(request.actor, selectors.rule(rule_id),
                                active_until=(request.POST.get("active_until") or "").strip() or None)
    messages.success(request, f"Bundle rule {rule.name} now ends on {rule.active_until or 'no date'}.")
    return redirect("web:bundle_rules")
