"""IPTV: configured platforms, their imported catalog (channel packages, PPV events), the links between
packages and products, the provisioning queue and reconciliation.

Reads for every role. Platform configuration, catalog import, package links and sales, and
reconciliation are for admins; retrying or cancelling a subscriber's queued commands and testing a
platform's connection are for admins and finance.

A platform's secret is write-only: no response ever carries it (nor its encrypted form, nor the
inbound token's hash); ``has_secret`` says whether one is stored. ``timeout_seconds`` is a JSON number
(seconds, 0.1 to 120): a timeout is not money. A call that reaches the platform and fails there is a 502:
``platform_unavailable`` when it is worth retrying later (timeout, connection refused, 5xx, 429),
``platform_error`` when it is not (authentication, a malformed answer ...).
"""

from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool, StrictFloat, StrictInt, WithJsonSchema

from tripleplay.api.catalog import AllowanceIn, ProductDetailOut
from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination, ChangingCursorPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import (
    Code,
    Currency,
    ErrorOut,
    Id,
    IdParam,
    In,
    MoneyOut,
    NonNegativeMinor,
    OptionalText,
    RequiredText,
    StorableObject,
    minor,
)
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.catalog.models import Alignment, ChargeMode, Period
from tripleplay.core.errors import DomainError
from tripleplay.iptv import catalog_import, configuration, packages, provisioning, reconcile, selectors
from tripleplay.iptv.models import CatalogItemStatus, CommandStatus, Platform, ProvisioningStatus
from tripleplay.iptv.platforms.base import PlatformError
from tripleplay.iptv.platforms.registry import adapters
from tripleplay.iptv.platforms.registry import kinds as platform_kinds

router = Router(tags=["iptv"])


# -- platform errors --------------------------------------------------------------------------------------


class PlatformUnavailable(DomainError):
    """The platform could not be reached or answered with a temporary failure: try again later."""

    code = "platform_unavailable"
    http_status = 502


class PlatformFailed(DomainError):
    """The platform refused the call or answered something unusable: retrying will not help."""

    code = "platform_error"
    http_status = 502


@contextmanager
def platform_errors(platform: Platform):
    """Turn an adapter's PlatformError into our error shape (502 with the platform's message)."""
    try:
        yield
    except PlatformError as e:
        error = PlatformUnavailable if e.transient else PlatformFailed
        raise error(f"platform {platform.code!r}: {e.message}",
                    details={"platform": platform.code, "transient": e.transient, "http_status": e.status,
                             "platform_code": e.code}) from None


# -- schemas ----------------------------------------------------------------------------------------------

Timeout = Annotated[Annotated[StrictInt, Field(ge=1, le=120)] | Annotated[StrictFloat, Field(ge=0.1, le=120)],
                    Field(description="seconds, a JSON number from 0.1 to 120")]
# The sizes of the platform's columns (iptv.models.Platform) and the rules of iptv.configuration.
Name = RequiredText(200)
BaseUrl = Annotated[str, Field(max_length=300, pattern=r"^https?://[A-Za-z0-9._~-]+(:[0-9]{1,5})?(/[^\x00]*)?$",
                               description="http(s) URL of the platform's API")]
Username = OptionalText(200)
Secret = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$",
                              description="password or API key; write-only, stored encrypted")]
Kind = Annotated[str, WithJsonSchema({"type": "string", "enum": platform_kinds(),
                                      "description": "one of GET /iptv/platform-kinds"})]
Options = Annotated[StorableObject, Field(description="adapter options (see docs/platforms)")]


class PlatformIn(In):
    code: Code
    name: Name
    kind: Kind
    base_url: BaseUrl
    username: Username = ""
    secret: Secret = ""
    inbound_secret: Secret = Field("", description="a shared secret the platform signs its calls with "
                                                   "(TVIP TMS: the Resolve Billing token); never returned")
    timeout_seconds: Timeout = 10
    options: Options = Field(default_factory=dict)
    enabled: StrictBool = True


class PlatformPatch(In):
    """Only the fields sent change; ``secret`` replaces the stored one ("" removes it)."""

    name: Name = None
    base_url: BaseUrl = None
    username: Username = None
    secret: Secret = None
    inbound_secret: Secret = None
    timeout_seconds: Timeout = None
    options: Options = None
    enabled: StrictBool = None


class PlatformOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    base_url: str
    username: str
    has_secret: bool = Field(description="a secret is stored (it is never returned)")
    timeout_seconds: float
    options: dict
    enabled: bool
    has_inbound_token: bool = Field(description="an inbound token was issued (it is never returned)")
    has_inbound_secret: bool = Field(False, description="an inbound signing secret is stored (never returned)")
    created_at: datetime

    @staticmethod
    def resolve_has_secret(obj) -> bool:
        return bool(obj.secret_encrypted)

    @staticmethod
    def resolve_timeout_seconds(obj) -> float:
        return float(obj.timeout_seconds)

    @staticmethod
    def resolve_has_inbound_token(obj) -> bool:
        return bool(obj.inbound_token_hash)

    @staticmethod
    def resolve_has_inbound_secret(obj) -> bool:
        return bool(obj.inbound_secret_encrypted)


class PlatformKindOut(Schema):
    kind: str
    label: str
    modelled: bool = Field(description="true when the wire format is modelled, not from a public specification")


class InboundTokenOut(Schema):
    token: str = Field(description="shown once, never retrievable again; replaces the previous token")


class ConnectionTestOut(Schema):
    ok: bool
    detail: dict | None = Field(None, description="the platform's answer when ok")
    error: str | None = Field(None, description="why not, when not ok")
    transient: bool | None = Field(None, description="when not ok: whether trying later may help")
    exchanges: list[dict] = Field([], description="the last requests and responses (secrets masked)")


class ImportIn(In):
    apply: StrictBool = Field(False, description="false (the default): report what would change, change nothing")


class ImportSectionOut(Schema):
    created: list[str]
    updated: list[str]
    retired: list[str]
    unchanged: list[str]


class ImportReportOut(Schema):
    platform: str
    applied: bool
    packages: ImportSectionOut
    ppv_events: ImportSectionOut
    changes: dict[str, dict[str, list[Any]]] = Field(description="external id -> field -> [old, new]")


class ReconcileIn(In):
    repair: StrictBool = Field(False, description="also enqueue the commands that close the drift")


class DriftOut(Schema):
    kind: str = Field(description="missing, extra, foreign, wrong_packages, wrong_status or pending")
    subscriber_id: str = Field(description="the platform's subscriber id")
    account_id: int | None
    expected: dict | None
    actual: dict | None


class ReconcileReportOut(Schema):
    platform: str
    checked: int
    in_sync: int
    drift: list[DriftOut]
    repaired: int
    summary: dict[str, int] = Field(description="drift kind -> count")


class ProductRefOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    status: str


class PackageOut(Schema):
    id: int
    platform_id: int
    platform_code: str
    external_id: str
    name: str
    kind: str
    description: str
    channels: list[str]
    status: str
    first_seen_at: datetime
    updated_at: datetime
    retired_at: datetime | None
    products: list[ProductRefOut] = Field(description="the products that grant this package, by code")

    @staticmethod
    def resolve_platform_code(obj) -> str:
        return obj.platform.code

    @staticmethod
    def resolve_products(obj) -> list:
        return sorted((link.product for link in obj.products.all()), key=lambda p: p.code)


class ProductIdIn(In):
    product_id: Id


class SellPlanIn(In):
    """The fields of POST /plans without product_id (the product is created here)."""

    code: Code
    name: Name
    periodic_fee_minor: NonNegativeMinor
    activation_fee_minor: NonNegativeMinor = 0
    period: Period = Period.MONTHLY
    charge_mode: ChargeMode = ChargeMode.IN_ADVANCE
    alignment: Alignment = Alignment.ANNIVERSARY
    prorate_first_period: StrictBool = True
    prorate_last_period: StrictBool = True
    minimum_term_periods: StrictInt = Field(0, ge=0, le=10_000)
    early_cancellation_fee_minor: NonNegativeMinor = 0
    hold_fee_minor: NonNegativeMinor = Field(0, description="what a whole period costs on a vacation hold")
    allowances: list[AllowanceIn] = []


class SellIn(In):
    code: Code
    name: Name = Field(None, description="default: the package's name")
    currency: Currency
    plan: SellPlanIn


class PpvEventOut(Schema):
    id: int
    platform_id: int
    platform_code: str
    external_id: str
    title: str
    price: MoneyOut
    starts_at: datetime | None
    ends_at: datetime | None
    content_owner: str
    status: str
    first_seen_at: datetime
    updated_at: datetime
    retired_at: datetime | None

    @staticmethod
    def resolve_platform_code(obj) -> str:
        return obj.platform.code

    @staticmethod
    def resolve_price(obj) -> dict:
        return minor(obj.price_minor, obj.currency)


class StateOut(Schema):
    exists: bool | None
    enabled: bool | None
    packages: list[str] | None


class PendingCommandOut(Schema):
    id: int
    event: str
    created_at: datetime
    attempts: int


class SubscriberOut(Schema):
    id: int
    account_id: int
    customer_id: int
    platform_id: int
    platform_code: str
    external_id: str = Field(description="the subscriber's id on the platform")
    desired: StateOut = Field(description="billing's state")
    applied: StateOut = Field(description="the last state the platform acknowledged (nulls: unknown)")
    status: str = Field(description="ok, in_progress, retry or failed")
    message: str
    attempts: int
    next_attempt_at: datetime | None
    pending_command: PendingCommandOut | None = Field(description="the queued command, if any")
    updated_at: datetime

    @staticmethod
    def resolve_customer_id(obj) -> int:
        return obj.account.customer_id

    @staticmethod
    def resolve_platform_code(obj) -> str:
        return obj.platform.code

    @staticmethod
    def resolve_desired(obj) -> dict:
        return {"exists": obj.desired_exists, "enabled": obj.desired_enabled, "packages": sorted(obj.desired_packages)}

    @staticmethod
    def resolve_applied(obj) -> dict:
        packages = obj.applied_packages
        return {"exists": obj.applied_exists, "enabled": obj.applied_enabled,
                "packages": sorted(packages) if packages is not None else None}

    @staticmethod
    def resolve_message(obj) -> str:
        return obj.status_message


class CommandOut(Schema):
    id: int
    subscriber_id: int
    account_id: int
    platform_code: str
    external_id: str
    event: str
    desired: dict = Field(description="the whole desired state this command carries")
    status: str = Field(description="pending, done, superseded, failed or cancelled")
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    updated_at: datetime = Field(description="the time of the last change (updated_after filters by it)")
    last_error: str
    exchanges: list[dict] = Field(description="requests and responses of the last attempt (secrets masked)")
    actor_name: str

    @staticmethod
    def resolve_account_id(obj) -> int:
        return obj.subscriber.account_id

    @staticmethod
    def resolve_platform_code(obj) -> str:
        return obj.subscriber.platform.code

    @staticmethod
    def resolve_external_id(obj) -> str:
        return obj.subscriber.external_id


class QueueOut(Schema):
    platform: str
    ok: int
    in_progress: int
    retry: int
    failed: int
    queued: int = Field(description="subscribers with a command waiting")


# -- platforms --------------------------------------------------------------------------------------------


@router.get("/iptv/platform-kinds", response=list[PlatformKindOut])
def platform_kinds(request):
    """The platform kinds this installation has an adapter for."""
    require(request, *READERS)
    return [{"kind": kind, "label": cls.label or kind, "modelled": cls.modelled} for kind, cls in adapters().items()]


@router.get("/iptv/platforms", response=list[PlatformOut])
@paginate(BoundedPagination)
def list_platforms(request):
    """Platforms by code."""
    require(request, *READERS)
    return selectors.platforms()


@router.post("/iptv/platforms", response={201: PlatformOut})
@idempotent_create()
def create_platform(request, payload: PlatformIn):
    actor = require(request, *ADMINS)
    platform = configuration.create_platform(actor, **payload.changes())
    return selectors.platform(platform.pk)


@router.get("/iptv/platforms/{platform_id}", response=PlatformOut)
def get_platform(request, platform_id: IdParam):
    require(request, *READERS)
    return selectors.platform(platform_id)


@router.patch("/iptv/platforms/{platform_id}", response=PlatformOut)
def update_platform(request, platform_id: IdParam, payload: PlatformPatch):
    actor = require(request, *ADMINS)
    platform = configuration.update_platform(actor, selectors.platform(platform_id), **payload.changes())
    return selectors.platform(platform.pk)


@router.post("/iptv/platforms/{platform_id}/inbound-token", response={201: InboundTokenOut})
@idempotent_create(secret=True)
def issue_inbound_token(request, platform_id: IdParam):
    """A new token for the platform's calls to tripleplay (catalog push); replaces the previous one."""
    actor = require(request, *ADMINS)
    return {"token": configuration.issue_inbound_token(actor, selectors.platform(platform_id))}


@router.post("/iptv/platforms/{platform_id}/test", response=ConnectionTestOut)
def test_connection(request, platform_id: IdParam):
    """One authenticated call to the platform. Always 200: ``ok`` says whether it worked."""
    require(request, *OPERATIONS)
    return configuration.test_connection(selectors.platform(platform_id))


@router.post("/iptv/platforms/{platform_id}/import", response={200: ImportReportOut, 502: ErrorOut})
def import_catalog(request, platform_id: IdParam, payload: ImportIn):
    """Pull the platform's packages (and PPV events, where it has them) and report the difference;
    with ``apply`` also create, update and retire them (never delete)."""
    actor = require(request, *ADMINS)
    platform = selectors.platform(platform_id)
    with platform_errors(platform):
        report = catalog_import.import_from_platform(actor, platform, apply=payload.apply)
    return report.as_dict()


@router.post("/iptv/platforms/{platform_id}/reconcile", response={200: ReconcileReportOut, 502: ErrorOut})
def reconcile_platform(request, platform_id: IdParam, payload: ReconcileIn):
    """Compare every subscriber on the platform with billing; with ``repair`` also enqueue the fixes
    (foreign subscribers and those with a command in flight are never touched)."""
    actor = require(request, *ADMINS)
    platform = selectors.platform(platform_id)
    with platform_errors(platform):
        report = reconcile.reconcile(actor, platform, repair=payload.repair)
    return report.as_dict()


# -- packages and PPV events ------------------------------------------------------------------------------


@router.get("/iptv/packages", response=list[PackageOut])
@paginate(BoundedPagination)
def list_packages(request, platform_id: IdParam | None = None, status: CatalogItemStatus | None = None):
    """Channel packages by platform code, then external id, with the products that grant them."""
    require(request, *READERS)
    return selectors.packages(platform_id=platform_id, status=status)


def _package(package_id: IdParam):
    return selectors.packages().get(pk=selectors.package(package_id).pk)


@router.get("/iptv/packages/{package_id}", response=PackageOut)
def get_package(request, package_id: IdParam):
    require(request, *READERS)
    return _package(package_id)


@router.post("/iptv/packages/{package_id}/link", response=PackageOut)
def link_package(request, package_id: IdParam, payload: ProductIdIn):
    """The product (with the iptv service) grants the package from now on: accounts that have the
    product are re-provisioned."""
    actor = require(request, *ADMINS)
    packages.link_package(actor, selectors.package(package_id), catalog_selectors.product(payload.product_id))
    return _package(package_id)


@router.post("/iptv/packages/{package_id}/unlink", response=PackageOut)
def unlink_package(request, package_id: IdParam, payload: ProductIdIn):
    actor = require(request, *ADMINS)
    packages.unlink_package(actor, selectors.package(package_id), catalog_selectors.product(payload.product_id))
    return _package(package_id)


@router.post("/iptv/packages/{package_id}/sell", response={201: ProductDetailOut})
@idempotent_create()
def sell_package(request, package_id: IdParam, payload: SellIn):
    """A new add-on product granting the package, with one plan. Returns the product."""
    actor = require(request, *ADMINS)
    fields = payload.changes()
    product = packages.sell_package_as_addon(actor, selectors.package(package_id), code=fields["code"],
                                             name=fields.get("name"), currency=fields["currency"],
                                             plan=fields["plan"])
    return catalog_selectors.product(product.pk)


@router.get("/iptv/ppv-events", response=list[PpvEventOut])
@paginate(BoundedPagination)
def list_ppv_events(request, platform_id: IdParam | None = None, status: CatalogItemStatus | None = None):
    """Pay-per-view events by platform code, then external id."""
    require(request, *READERS)
    return selectors.ppv_events(platform_id=platform_id, status=status)


# -- provisioning -----------------------------------------------------------------------------------------


def _subscriber(subscriber_id: IdParam):
    return selectors.subscribers().get(pk=selectors.subscriber(subscriber_id).pk)


@router.get("/iptv/subscribers", response=list[SubscriberOut])
@paginate(BoundedPagination)
def list_subscribers(request, platform_id: IdParam | None = None, account_id: IdParam | None = None,
                     status: ProvisioningStatus | None = None):
    """Accounts on platforms by id: billing's desired state, the acknowledged one and the queue."""
    require(request, *READERS)
    return selectors.subscribers(platform_id=platform_id, account_id=account_id, status=status)


@router.get("/iptv/subscribers/{subscriber_id}", response=SubscriberOut)
def get_subscriber(request, subscriber_id: IdParam):
    require(request, *READERS)
    return _subscriber(subscriber_id)


@router.get("/iptv/subscribers/{subscriber_id}/commands", response=list[CommandOut])
@paginate(BoundedPagination)
def subscriber_commands(request, subscriber_id: IdParam):
    """The subscriber's commands, newest first."""
    require(request, *READERS)
    return selectors.commands(subscriber_id=selectors.subscriber(subscriber_id).pk)


@router.post("/iptv/subscribers/{subscriber_id}/retry", response=SubscriberOut)
def retry_subscriber(request, subscriber_id: IdParam):
    """Queue billing's current state again, due now. 409 ``nothing_to_retry`` unless the subscriber
    failed or has a command waiting."""
    actor = require(request, *OPERATIONS)
    provisioning.retry_subscriber(actor, selectors.subscriber(subscriber_id))
    return _subscriber(subscriber_id)


@router.post("/iptv/subscribers/{subscriber_id}/cancel", response=SubscriberOut)
def cancel_subscriber(request, subscriber_id: IdParam):
    """Drop the queued commands; the subscriber is then ``failed`` until a change or a reconciliation
    repairs it. 409 ``nothing_to_cancel`` when nothing is queued."""
    actor = require(request, *OPERATIONS)
    provisioning.cancel_subscriber_commands(actor, selectors.subscriber(subscriber_id))
    return _subscriber(subscriber_id)


@router.get("/iptv/commands", response=list[CommandOut])
@paginate(ChangingCursorPagination, created="created_at")
def list_commands(request, platform_id: IdParam | None = None, status: CommandStatus | None = None):
    """Provisioning commands, newest first."""
    require(request, *READERS)
    return selectors.commands(platform_id=platform_id, status=status)


@router.get("/iptv/queue", response=list[QueueOut])
def queue_health(request):
    """Per platform (by code): subscribers by provisioning status and how many have a command waiting."""
    require(request, *READERS)
    return selectors.queue_health()
