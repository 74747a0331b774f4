"""Bundle rules (docs/charging.md "Bundle discounts"): reads for every role; writes for admins, as
the rest of the catalog. The discounts themselves are ledger entries (source ``bundle``) on invoices."""

from datetime import date, datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictInt, StrictStr

from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, READERS, require
from tripleplay.api.schemas import Code, Currency, IdParam, In, IsoDate, PositiveMinor, RequiredText
from tripleplay.bundles import selectors, services
from tripleplay.catalog.models import ServiceType

router = Router(tags=["bundles"])

# Above 0 and at most 100, with at most two decimals.
BUNDLE_PERCENT_PATTERN = r"^(100(\.00?)?|(0?[1-9]|[1-9][0-9])(\.[0-9]{1,2})?|0?\.(0[1-9]|[1-9][0-9]?))$"


class BundleTierIn(In):
    """Exactly one of ``percent`` and ``amount_minor`` (in the rule's currency), and ``at_least`` at most
    the number of its services; otherwise 422 invalid_input naming the field ``tiers``."""

    services: list[ServiceType] = Field(min_length=1, max_length=5)
    at_least: StrictInt = Field(None, ge=1, le=5, description="how many of the services (default: all of them)")
    percent: StrictStr = Field(None, pattern=BUNDLE_PERCENT_PATTERN,
                               description="off the fee, as decimal text, above 0 and at most 100: '20'")
    amount_minor: PositiveMinor = Field(None, description="or a fixed amount off each fee per whole fee period")


class BundleRuleIn(In):
    name: RequiredText(100)
    tiers: list[BundleTierIn] = Field(min_length=1, max_length=10, description="best first")
    fee_service_types: list[ServiceType] = Field(
        None, max_length=5, description="the fees it discounts, by service type (default: every service of its tiers)")
    fee_products: list[Code] = Field([], max_length=50, description="and by product code")
    currency: Currency = Field(None, description="of the fixed amounts (needed when a tier has amount_minor, "
                                                 "else 422 naming currency)")
    active_from: IsoDate = Field(None, description="default: today")
    active_until: IsoDate | None = Field(None, description="exclusive, after active_from; null: open-ended")


class BundleRulePatch(In):
    name: RequiredText(100) = None
    tiers: list[BundleTierIn] = Field(None, min_length=1, max_length=10)
    fee_service_types: list[ServiceType] = Field(None, max_length=5)
    fee_products: list[Code] = Field(None, max_length=50)
    currency: Currency = None
    active_from: IsoDate = None
    active_until: IsoDate | None = None


class BundleTierOut(Schema):
    services: list[str]
    at_least: int
    percent: str | None = None
    amount_minor: int | None = None


class BundleRuleOut(Schema):
    id: int
    name: str
    tiers: list[BundleTierOut]
    fee_service_types: list[str]
    fee_products: list[str]
    currency: str
    active_from: date
    active_until: date | None
    created_at: datetime
    updated_at: datetime


def _fields(payload: In) -> dict:
    fields = payload.changes()
    if "tiers" in fields:
        fields["tiers"] = [{k: val for k, val in t.items() if val is not None} for t in fields["tiers"]]
    if fields.get("currency") is None:
        fields.pop("currency", None)
    return fields


@router.get("/bundle-rules", response=list[BundleRuleOut])
@paginate(BoundedPagination)
def list_bundle_rules(request):
    require(request, *READERS)
    return selectors.rules()


@router.post("/bundle-rules", response={201: BundleRuleOut})
def create_bundle_rule(request, payload: BundleRuleIn):
    actor = require(request, *ADMINS)
    rule = services.create_rule(actor, **_fields(payload))
    return selectors.rule(rule.pk)


@router.get("/bundle-rules/{rule_id}", response=BundleRuleOut)
def get_bundle_rule(request, rule_id: IdParam):
    require(request, *READERS)
    return selectors.rule(rule_id)


@router.patch("/bundle-rules/{rule_id}", response=BundleRuleOut)
def update_bundle_rule(request, rule_id: IdParam, payload: BundleRulePatch):
    """Discounts already on invoices stay; the change counts for fees invoiced from now on."""
    actor = require(request, *ADMINS)
    rule = services.update_rule(actor, selectors.rule(rule_id), **_fields(payload))
    return selectors.rule(rule.pk)
