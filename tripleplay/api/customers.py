"""Customers: sign-up, details, status. A customer's money is in tripleplay.api.ledger."""

from datetime import datetime
from typing import Annotated

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictInt, StrictStr, WithJsonSchema

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import (
    ActorOut,
    Currency,
    Email,
    IdParam,
    In,
    MoneyOut,
    NonNegativeMinor,
    OptionalText,
    Percent,
    QueryText,
    RequiredText,
    decimal_text,
    minor,
)
from tripleplay.catalog.models import BillingPeriod
from tripleplay.core.validation import STORABLE_TEXT_PATTERN
from tripleplay.customers import metadata as integration
from tripleplay.customers import selectors, services
from tripleplay.customers.models import BalanceModel, Status

router = Router(tags=["customers"])

# Defaults below document the service's own defaults; only the fields a client sends are passed on.


# The sizes of the customer's columns (customers.models.Customer).
Name = RequiredText(200)
Phone = OptionalText(40)
PHONE_DOC = ("E.164, e.g. +4915112345678; spaces, dashes, dots, slashes and brackets are dropped and a leading 00 "
             "becomes +; without a country code: 422 invalid_phone_number (D203)")
AddressLine = OptionalText(200)
City = OptionalText(100)
PostalCode = OptionalText(20)
Country = Annotated[StrictStr, Field(pattern=r"^([A-Za-z]{2})?$", description="ISO 3166-1 alpha-2, or empty")]
Reason = RequiredText(200)
# An integrator's own id and labels (customers.metadata, D116); accounts have the same two fields.
ExternalId = Annotated[OptionalText(integration.MAX_EXTERNAL_ID_LENGTH),
                       Field(description="your own id for the row: unique where set; null or blank clears it")]
_METADATA_SCHEMA = {
    "type": "object", "maxProperties": integration.MAX_KEYS,
    "propertyNames": {"type": "string", "minLength": 1, "maxLength": integration.MAX_KEY_LENGTH,
                      "pattern": STORABLE_TEXT_PATTERN},
    "additionalProperties": {"type": "string", "maxLength": integration.MAX_VALUE_LENGTH,
                             "pattern": STORABLE_TEXT_PATTERN},
    "description": f"your labels: at most {integration.MAX_KEYS} string keys of 1..{integration.MAX_KEY_LENGTH} "
                   f"characters to strings of at most {integration.MAX_VALUE_LENGTH}; an update replaces the "
                   "whole object ({} clears it)",
}
_MetadataKey = Annotated[StrictStr, Field(min_length=1, max_length=integration.MAX_KEY_LENGTH,
                                          pattern=STORABLE_TEXT_PATTERN)]
_MetadataValue = Annotated[StrictStr, Field(max_length=integration.MAX_VALUE_LENGTH, pattern=STORABLE_TEXT_PATTERN)]
Metadata = Annotated[dict[_MetadataKey, _MetadataValue], Field(max_length=integration.MAX_KEYS),
                     WithJsonSchema(_METADATA_SCHEMA)]


class CustomerIn(In):
    name: Name
    currency: Currency = Field(description="ISO 4217 code; fixed for the customer's life")
    balance_model: BalanceModel
    credit_limit_minor: NonNegativeMinor = Field(0, description="postpaid only; prepaid customers have none")
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    bill_cycle_day: StrictInt = Field(1, ge=1, le=31,
                                      description="monthly 1..31, semimonthly 1..15, weekly 1..7 (ISO), daily 1")
    tax_rate: Percent = "0"
    email: Email = ""
    phone: Phone = Field("", description=PHONE_DOC)
    address_line1: AddressLine = ""
    address_line2: AddressLine = ""
    city: City = ""
    postal_code: PostalCode = ""
    country: Country = ""
    external_id: ExternalId | None = None
    metadata: Metadata = {}


class CustomerPatch(In):
    """Only the fields sent change. The currency cannot change (409 currency_immutable)."""

    name: Name = None
    email: Email = None
    phone: Phone = Field(None, description=PHONE_DOC)
    address_line1: AddressLine = None
    address_line2: AddressLine = None
    city: City = None
    postal_code: PostalCode = None
    country: Country = None
    currency: Currency = None
    balance_model: BalanceModel = None
    credit_limit_minor: NonNegativeMinor = None
    billing_period: BillingPeriod = None
    bill_cycle_day: StrictInt = Field(None, ge=1, le=31)
    tax_rate: Percent = None
    external_id: ExternalId | None = None
    metadata: Metadata = None


class StatusIn(In):
    status: Status
    reason: Reason


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    country: str
    currency: str
    balance_model: str
    credit_limit: MoneyOut
    billing_period: str
    bill_cycle_day: int
    tax_rate: str
    status: str
    status_reason: str
    status_changed_at: datetime
    created_at: datetime
    closed_at: datetime | None
    external_id: str | None
    metadata: dict[str, str]

    @staticmethod
    def resolve_credit_limit(obj) -> dict:
        return minor(obj.funds.credit_limit_minor, obj.currency)

    @staticmethod
    def resolve_tax_rate(obj) -> str:
        return decimal_text(obj.tax_rate)


class StatusChangeOut(Schema):
    id: int
    from_status: str = Field(description="empty for the first status")
    to_status: str
    reason: str
    at: datetime
    actor: ActorOut

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_name}


@router.get("/customers", response=list[CustomerOut])
@paginate(BoundedPagination)
def list_customers(request, status: Status | None = None, search: QueryText | None = None,
                   external_id: QueryText | None = None):
    """Customers by id; ``search`` matches name, e-mail or an account's login; ``external_id`` is exact."""
    require(request, *READERS)
    return selectors.customers(status=status, search=search, external_id=external_id)


@router.post("/customers", response={201: CustomerOut})
@idempotent_create()
def create_customer(request, payload: CustomerIn):
    actor = require(request, *OPERATIONS)
    customer = services.create_customer(actor, **payload.changes())
    return selectors.customer(customer.pk)


@router.get("/customers/{customer_id}", response=CustomerOut)
def get_customer(request, customer_id: IdParam):
    require(request, *READERS)
    return selectors.customer(customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(request, customer_id: IdParam, payload: CustomerPatch):
    actor = require(request, *OPERATIONS)
    customer = services.update_customer(actor, selectors.customer(customer_id), **payload.changes())
    return selectors.customer(customer.pk)


@router.post("/customers/{customer_id}/status", response=CustomerOut)
def change_customer_status(request, customer_id: IdParam, payload: StatusIn):
    """Closing a customer closes all of its accounts; closed is final."""
    actor = require(request, *OPERATIONS)
    customer = services.change_customer_status(actor, selectors.customer(customer_id), payload.status,
                                               reason=payload.reason)
    return selectors.customer(customer.pk)


@router.get("/customers/{customer_id}/status-history", response=list[StatusChangeOut])
def customer_status_history(request, customer_id: IdParam):
    require(request, *READERS)
    return selectors.customer_status_history(selectors.customer(customer_id))
