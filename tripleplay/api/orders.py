"""Orders from the TV screen and the balance call, for platforms (JSON), and the operator's switch.

Platforms (``Authorization: Bearer tpp_...``, the platform's inbound token, as PPV's calls):
POST /api/v1/orders places one order (add an add-on, remove it, change the main product) for the
platform's own subscriber; GET /api/v1/orders/balance?subscriber=... answers the subscriber's balance
and available funds. Business answers (done, declined with a code) are 200; the same transaction id
with another request is 409 ``transaction_id_reused``; an unknown subscriber's balance is 404 (another
platform's subscriber is unknown too). The XML twin is POST /xml/v1/orders (tripleplay/api/xml.py).

Operators: GET /api/v1/iptv/platforms/{id}/orderable lists the products a platform may order;
PUT / DELETE .../orderable/{product_id} allows or stops one (admins). docs/orders.md.
"""

from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from tripleplay.api.permissions import ADMINS, READERS, require
from tripleplay.api.ppv import PlatformToken, Ref
from tripleplay.api.schemas import IdParam, In
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.iptv import selectors as iptv_selectors
from tripleplay.orders import selectors, services

router = Router(tags=["orders (platforms)"], auth=PlatformToken())
admin = Router(tags=["orders"])


class OrderIn(In):
    transaction_id: Ref = Field(description="the platform's id for this order; retries reuse it")
    subscriber: Ref = Field(description="tripleplay's subscriber id on the platform (e.g. tp-42)")
    action: Literal["add", "remove", "change"] = Field(
        description="add an add-on, remove an add-on, or change the main product")
    product: Ref = Field(description="the product's code")
    plan: Ref | None = Field(None, description="the plan's code: add and change, the plan to take (needed when the "
                                               "product has several); remove, the add-on's own plan")


class OrderOut(Schema):
    result: str = Field(description="done, declined or error")
    code: str = Field(description="ok, or the reason (insufficient_funds, not_orderable, ...)")
    message: str
    transaction_id: str | None = None
    order_id: int | None = None
    subscriber: str | None = None
    action: str | None = None
    product: str | None = None
    plan: str | None = None
    amount_minor: int | None = Field(None, description="charged now (fees minus credits; negative: credited)")
    currency: str | None = None
    balance_minor: int | None = None
    available_minor: int | None = Field(None, description="the customer's available funds after the order")


class BalanceQuery(Schema):
    subscriber: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="the subscriber's id")


class BalanceOut(Schema):
    result: str = Field(description="balance or error")
    code: str
    message: str
    subscriber: str | None = None
    currency: str | None = None
    balance_minor: int | None = None
    available_minor: int | None = Field(None, description="what the customer may still spend")
    held_minor: int | None = None
    customer_status: str | None = Field(None, description="the customer's status (active, suspended ...)")


def _reply(answer: services.Answer) -> Status:
    return Status(answer.http_status, dict(answer))


@router.post("/orders", response={200: OrderOut, 409: OrderOut})
def place_order(request, payload: OrderIn):
    return _reply(services.place_order(request.platform, **payload.model_dump()))


@router.get("/orders/balance", response={200: BalanceOut, 404: BalanceOut})
def balance(request, query: Query[BalanceQuery]):
    return _reply(services.balance(request.platform, subscriber=query.subscriber))


# -- the operator's switch ----------------------------------------------------------------------------


class OrderableOut(Schema):
    product_id: int
    product_code: str
    product_name: str
    product_kind: str = Field(description="addon (add and remove) or main (change to it)")

    @staticmethod
    def resolve_product_code(obj) -> str:
        return obj.product.code

    @staticmethod
    def resolve_product_name(obj) -> str:
        return obj.product.name

    @staticmethod
    def resolve_product_kind(obj) -> str:
        return obj.product.kind


class OrderableChangedOut(Schema):
    changed: bool


@admin.get("/iptv/platforms/{platform_id}/orderable", response=list[OrderableOut])
def list_orderable(request, platform_id: IdParam):
    """The products this platform may order from the TV screen."""
    require(request, *READERS)
    return list(selectors.orderables_of(iptv_selectors.platform(platform_id)))


@admin.put("/iptv/platforms/{platform_id}/orderable/{product_id}", response=OrderableChangedOut)
def allow_orderable(request, platform_id: IdParam, product_id: IdParam):
    """Allow orders of the product from this platform (idempotent: ``changed`` false when it was)."""
    actor = require(request, *ADMINS)
    changed = services.set_orderable(actor, iptv_selectors.platform(platform_id),
                                     catalog_selectors.product(product_id), True)
    return {"changed": changed}


@admin.delete("/iptv/platforms/{platform_id}/orderable/{product_id}", response=OrderableChangedOut)
def stop_orderable(request, platform_id: IdParam, product_id: IdParam):
    actor = require(request, *ADMINS)
    changed = services.set_orderable(actor, iptv_selectors.platform(platform_id),
                                     catalog_selectors.product(product_id), False)
    return {"changed": changed}
