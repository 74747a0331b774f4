"""Accounts (service endpoints of a customer), their identifiers, status and products."""

from datetime import date, datetime
from typing import Annotated

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictStr

from tripleplay.api.customers import ExternalId, Metadata, StatusChangeOut, StatusIn
from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import Id, IdParam, In, IsoDate, OptionalText, QueryText
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.customers import selectors, services
from tripleplay.customers.models import Status
from tripleplay.promotions import services as promotion_services

router = Router(tags=["accounts"])


# The account's identifier columns (customers.models.Account) and customers.services._phone.
Identifier = OptionalText(100)
PhoneNumber = Annotated[StrictStr, Field(pattern=r"^(\+?[0-9]{3,15})?$",
                                         description="E.164 digits (3..15), optionally with a leading +")]


class AccountIn(In):
    customer_id: Id
    login: Identifier | None = None
    device_id: Identifier | None = Field(None, description="set-top box serial or MAC")
    phone_number: PhoneNumber | None = None
    main_plan_id: Id
    addon_plan_ids: list[Id] = []
    start_date: IsoDate | None = Field(None, description="default today")
    external_id: ExternalId | None = None
    metadata: Metadata = {}
    coupon_code: OptionalText(64) | None = Field(
        None, description="a coupon typed at sign-up (case, spaces and dashes ignored): its promotion is granted on "
                          "the new product it applies to, in the same transaction; refused (404 coupon_not_found, "
                          "409 coupon_*, promotion_not_applicable, 422 coupon_code_malformed): no account is created. "
                          "null or blank: none")


class AccountPatch(In):
    """Identifiers and your own data only; null or "" clears an identifier, {} clears the metadata."""

    login: Identifier | None = None
    device_id: Identifier | None = None
    phone_number: PhoneNumber | None = None
    external_id: ExternalId | None = None
    metadata: Metadata = None


class MainProductIn(In):
    plan_id: Id
    effective_date: IsoDate | None = Field(None, description="default today")


class AddonIn(In):
    plan_id: Id
    start_date: IsoDate | None = Field(None, description="default today")


class AssignmentOut(Schema):
    id: int
    role: str = Field(description="main or addon")
    product_id: int
    product_code: str
    plan_id: int
    plan_code: str
    start_date: date
    end_date: date | None = Field(description="exclusive: the first day without the product; null while current")
    created_at: datetime
    ended_at: datetime | None
    end_reason: str

    @staticmethod
    def resolve_product_code(obj) -> str:
        return obj.product.code

    @staticmethod
    def resolve_plan_code(obj) -> str:
        return obj.plan.code


class AccountOut(Schema):
    id: int
    customer_id: int
    login: str | None
    device_id: str | None
    phone_number: str | None
    status: str
    status_reason: str
    status_changed_at: datetime
    created_at: datetime
    closed_at: datetime | None
    external_id: str | None
    metadata: dict[str, str]


class AccountDetailOut(AccountOut):
    products: list[AssignmentOut] = Field(description="current products, by role (addon, main) then id")

    @staticmethod
    def resolve_products(obj) -> list:
        return list(selectors.current_products(obj))


@router.get("/accounts", response=list[AccountOut])
@paginate(BoundedPagination)
def list_accounts(request, customer_id: IdParam | None = None, status: Status | None = None,
                  search: QueryText | None = None, external_id: QueryText | None = None):
    """Accounts by id; ``search`` matches login, phone number or device id; ``external_id`` is exact."""
    require(request, *READERS)
    return selectors.accounts(customer_id=customer_id, status=status, search=search, external_id=external_id)


@router.post("/accounts", response={201: AccountDetailOut})
@idempotent_create()
def create_account(request, payload: AccountIn):
    """Sign up an account with its main product and add-ons, and optionally a coupon's promotion on
    the new product it applies to (docs/charging.md#promotions)."""
    actor = require(request, *OPERATIONS)
    account = promotion_services.sign_up_account(
        actor,
        selectors.customer(payload.customer_id),
        main_plan=catalog_selectors.plan(payload.main_plan_id),
        addon_plans=[catalog_selectors.plan(i) for i in payload.addon_plan_ids],
        login=payload.login,
        device_id=payload.device_id,
        phone_number=payload.phone_number,
        start_date=payload.start_date,
        external_id=payload.external_id,
        metadata=payload.metadata,
        coupon_code=payload.coupon_code,
    )
    return selectors.account(account.pk)


@router.get("/accounts/{account_id}", response=AccountDetailOut)
def get_account(request, account_id: IdParam):
    require(request, *READERS)
    return selectors.account(account_id)


@router.patch("/accounts/{account_id}", response=AccountDetailOut)
def update_account(request, account_id: IdParam, payload: AccountPatch):
    actor = require(request, *OPERATIONS)
    account = services.update_account(actor, selectors.account(account_id), **payload.changes())
    return selectors.account(account.pk)


@router.post("/accounts/{account_id}/status", response=AccountDetailOut)
def change_account_status(request, account_id: IdParam, payload: StatusIn):
    """Closing an account ends its products; an account of a closed customer can only be closed."""
    actor = require(request, *OPERATIONS)
    account = services.change_account_status(actor, selectors.account(account_id), payload.status,
                                              reason=payload.reason)
    return selectors.account(account.pk)


@router.get("/accounts/{account_id}/status-history", response=list[StatusChangeOut])
def account_status_history(request, account_id: IdParam):
    require(request, *READERS)
    return selectors.account_status_history(selectors.account(account_id))


@router.get("/accounts/{account_id}/products", response=list[AssignmentOut])
def account_products(request, account_id: IdParam):
    """Every product the account had or has, by start date (ended ones included)."""
    require(request, *READERS)
    return selectors.product_history(selectors.account(account_id))


@router.post("/accounts/{account_id}/main-product", response={201: AssignmentOut})
@idempotent_create()
def change_main_product(request, account_id: IdParam, payload: MainProductIn):
    """The current main product ends on ``effective_date`` (exclusive) and the new plan starts that day.
    Returns the new assignment."""
    actor = require(request, *OPERATIONS)
    return services.change_main_product(actor, selectors.account(account_id), catalog_selectors.plan(payload.plan_id),
                                        effective_date=payload.effective_date)


@router.post("/accounts/{account_id}/addons", response={201: AssignmentOut})
@idempotent_create()
def add_addon(request, account_id: IdParam, payload: AddonIn):
    actor = require(request, *OPERATIONS)
    return services.add_addon(actor, selectors.account(account_id), catalog_selectors.plan(payload.plan_id),
                              start_date=payload.start_date)


class RemoveAddonQuery(Schema):
    end_date: IsoDate | None = Field(None, description="exclusive: the first day without the add-on; default today")


@router.delete("/accounts/{account_id}/addons/{assignment_id}", response=AssignmentOut)
def remove_addon(request, account_id: IdParam, assignment_id: IdParam, query: Query[RemoveAddonQuery]):
    """Ends an add-on; returns the ended assignment."""
    actor = require(request, *OPERATIONS)
    return services.remove_addon(actor, selectors.account(account_id), assignment_id, end_date=query.end_date)
