"""Internet access (RADIUS): NAS clients, products' internet attributes, accounts' internet passwords,
network sessions (with a disconnect button) and the Disconnect-Request outbox.

Reads for every role. NAS clients and products' internet attributes are for admins; setting an
account's internet password, disconnecting a session and retrying or cancelling a command are for
admins and finance. A NAS's shared secret and an account's password are write-only: no response
carries them (``has_secret`` / ``has_password`` say one is stored). FreeRADIUS's own calls are not
here: tripleplay/api/aaa.py.
"""

from datetime import datetime
from typing import Annotated

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, StrictFloat, StrictInt, StrictStr, WithJsonSchema

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination, ChangingCursorPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import IdParam, In, IpAddress, OptionalText, Secret, Text
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.core.errors import NotFound
from tripleplay.customers import selectors as customer_selectors
from tripleplay.radius import selectors, services
from tripleplay.radius.models import CommandStatus, SessionStatus, Vendor

router = Router(tags=["radius"])

Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Timeout = Annotated[Annotated[StrictInt, Field(ge=1, le=30)] | Annotated[StrictFloat, Field(ge=0.1, le=30)],
                    Field(description="seconds, 0.1 to 30")]
NasName = Annotated[StrictStr, Field(pattern=r"^[a-z0-9_-]{1,64}$",
                                     description="lowercase letters, digits, '-' and '_'; unique")]
Interim = Annotated[StrictInt, Field(ge=0, le=86400), WithJsonSchema({
    "anyOf": [{"type": "integer", "enum": [0]}, {"type": "integer", "minimum": 60, "maximum": 86400}],
    "description": "seconds between Interim-Updates: 0 (none) or 60 to 86400"})]
Rate = Annotated[StrictInt, Field(ge=1, le=services.MAX_RATE_KBPS, description="kbit/s")]
Seconds = Annotated[StrictInt, Field(ge=0, le=services.MAX_SECONDS, description="seconds; 0: none")]
SessionSource = Annotated[StrictStr, Field(max_length=200, pattern=services.SESSION_SOURCE_PATTERN, description=(
    "where the reconciliation reads the NAS's own session list: empty (not reconciled) or "
    "sim+http://HOST:PORT (the NAS simulator); routeros://HOST:PORT is reserved (docs/radius.md)"))]


class NasIn(In):
    name: NasName
    address: IpAddress = Field(description="the IP address its RADIUS packets come from (and CoA goes to)")
    secret: Secret(8, 128) = Field(description="the RADIUS shared secret, 8 to 128 characters; write-only, stored encrypted")
    vendor: Vendor = Field(description="the dictionary of its reply attributes: mikrotik or huawei")
    coa_port: Port = 3799
    timeout_seconds: Timeout = 3
    enabled: StrictBool = True
    session_source: SessionSource = ""


class NasPatch(In):
    name: NasName = None
    address: IpAddress = None
    secret: Secret(8, 128) = None
    vendor: Vendor = None
    coa_port: Port = None
    timeout_seconds: Timeout = None
    enabled: StrictBool = None
    session_source: SessionSource = None


class NasOut(Schema):
    id: int
    name: str
    address: str
    vendor: str
    coa_port: int
    timeout_seconds: float
    enabled: bool
    session_source: str
    has_secret: bool = Field(description="a shared secret is stored (it is never returned)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_timeout_seconds(obj) -> float:
        return float(obj.timeout_seconds)

    @staticmethod
    def resolve_has_secret(obj) -> bool:
        return bool(obj.secret_encrypted)


class InternetServiceIn(In):
    download_kbps: Rate
    upload_kbps: Rate
    address_pool: OptionalText(64) = ""
    session_timeout_seconds: Seconds = 0
    idle_timeout_seconds: Seconds = 0
    interim_interval_seconds: Interim = 300


class InternetServiceOut(Schema):
    product_id: int
    download_kbps: int
    upload_kbps: int
    address_pool: str
    session_timeout_seconds: int
    idle_timeout_seconds: int
    interim_interval_seconds: int
    updated_at: datetime


class PasswordIn(In):
    password: Secret(6, 128) = Field(description="6 to 128 characters; write-only, stored encrypted (docs/radius.md, D76)")


class InternetLoginOut(Schema):
    account_id: int
    username: str = Field(description="the account's login")
    has_password: bool
    last_auth_at: datetime | None
    last_nas: str | None = Field(description="name of the NAS of the last successful login")

    @staticmethod
    def resolve_username(obj) -> str:
        return obj.account.login or ""

    @staticmethod
    def resolve_has_password(obj) -> bool:
        return bool(obj.password_encrypted)

    @staticmethod
    def resolve_last_nas(obj) -> str | None:
        return obj.last_nas.name if obj.last_nas_id else None


class NetworkSessionOut(Schema):
    id: int
    nas_id: int
    nas: str
    acct_session_id: str
    username: str
    account_id: int | None
    customer_id: int | None
    framed_ip: str | None
    input_octets: int = Field(description="from the subscriber (upload), cumulative")
    output_octets: int = Field(description="to the subscriber (download), cumulative")
    session_time_seconds: int
    status: str
    started_at: datetime
    updated_at: datetime
    stopped_at: datetime | None
    terminate_cause: str
    interim_updates: int

    @staticmethod
    def resolve_nas(obj) -> str:
        return obj.nas.name


class NasCommandOut(Schema):
    id: int
    session_id: int
    nas_id: int
    customer_id: int | None
    kind: str = Field(description="disconnect (Disconnect-Request) or coa (CoA-Request with attributes)")
    reason: str
    status: str = Field(description="pending, done, failed (the dead letter) or cancelled")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    response: dict
    attributes: dict = Field(description="a CoA's rate attributes in the NAS's dictionary; empty for a disconnect")
    actor_name: str
    created_at: datetime
    finished_at: datetime | None
    updated_at: datetime = Field(description="the time of the last change (updated_after filters by it)")


class DisconnectIn(In):
    reason: Text = "operator"


# -- NAS clients -------------------------------------------------------------------------------------------


@router.get("/radius/nas", response=list[NasOut])
@paginate(BoundedPagination)
def list_nas(request):
    """NAS clients by name. FreeRADIUS learns them from tripleplay (dynamic clients, docs/radius.md)."""
    require(request, *READERS)
    return selectors.nas_clients()


@router.post("/radius/nas", response={201: NasOut})
@idempotent_create()
def create_nas(request, payload: NasIn):
    actor = require(request, *ADMINS)
    return Status(201, services.create_nas(actor, **payload.dict()))


@router.get("/radius/nas/{nas_id}", response=NasOut)
def get_nas(request, nas_id: IdParam):
    require(request, *READERS)
    return selectors.nas(nas_id)


@router.patch("/radius/nas/{nas_id}", response=NasOut)
def update_nas(request, nas_id: IdParam, payload: NasPatch):
    """Only the fields sent change. FreeRADIUS keeps a NAS it knows for its client lifetime (60 s by
    default) before it asks again."""
    actor = require(request, *ADMINS)
    return services.update_nas(actor, selectors.nas(nas_id), **payload.dict(exclude_unset=True))


# -- products and accounts ---------------------------------------------------------------------------------


@router.get("/products/{product_id}/internet-service", response=InternetServiceOut)
def get_internet_service(request, product_id: IdParam):
    require(request, *READERS)
    product = catalog_selectors.product(product_id)
    service = selectors.internet_service_of(product.pk)
    if service is None:
        raise NotFound(f"product {product.code} has no internet service", details={"product_id": product.pk})
    return service


@router.put("/products/{product_id}/internet-service", response=InternetServiceOut)
def set_internet_service(request, product_id: IdParam, payload: InternetServiceIn):
    """The product's internet attributes (all of them), sent on every Access-Accept from now on."""
    actor = require(request, *ADMINS)
    return services.set_internet_service(actor, catalog_selectors.product(product_id), **payload.dict())


@router.put("/accounts/{account_id}/internet-password", response=InternetLoginOut)
def set_internet_password(request, account_id: IdParam, payload: PasswordIn):
    """The account's internet password; its username is the account's login."""
    actor = require(request, *OPERATIONS)
    login = services.set_internet_password(actor, customer_selectors.account(account_id), payload.password)
    return selectors.internet_login_of(login.account_id)


@router.get("/accounts/{account_id}/internet-login", response=InternetLoginOut)
def get_internet_login(request, account_id: IdParam):
    require(request, *READERS)
    account = customer_selectors.account(account_id)
    login = selectors.internet_login_of(account.pk)
    if login is None:
        raise NotFound(f"account {account.pk} has no internet password", details={"account_id": account.pk})
    return login


# -- sessions and the outbox -------------------------------------------------------------------------------


class _SessionsNow(BoundedPagination):
    """The page's open sessions with the Interim-Updates the fast path answered laid over (D295)."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page[self.items_attribute] = selectors.with_window_reports(page[self.items_attribute])
        return page


@router.get("/radius/sessions", response=list[NetworkSessionOut])
@paginate(_SessionsNow)
def list_sessions(request, customer_id: IdParam | None = None, account_id: IdParam | None = None,
                  nas_id: IdParam | None = None, status: SessionStatus | None = None):
    """Network sessions as the NAS reported them, newest first."""
    require(request, *READERS)
    return selectors.sessions(customer_id=customer_id, account_id=account_id, nas_id=nas_id, status=status)


@router.get("/radius/sessions/{session_id}", response=NetworkSessionOut)
def get_session(request, session_id: IdParam):
    require(request, *READERS)
    return selectors.session(session_id)


@router.post("/radius/sessions/{session_id}/disconnect", response={202: NasCommandOut})
@idempotent_create()
def disconnect_session(request, session_id: IdParam, payload: DisconnectIn):
    """Queue a Disconnect-Request to the session's NAS (sent by the worker). 409 ``session_ended``
    when the session has ended."""
    actor = require(request, *OPERATIONS)
    return Status(202, services.disconnect_session(actor, selectors.session(session_id), reason=payload.reason))


@router.get("/radius/commands", response=list[NasCommandOut])
@paginate(ChangingCursorPagination, created="created_at")
def list_commands(request, status: CommandStatus | None = None, customer_id: IdParam | None = None):
    """Disconnect-Requests, newest first; ``status=failed`` is the dead letter."""
    require(request, *READERS)
    return selectors.commands(status=status, customer_id=customer_id)


@router.post("/radius/commands/{command_id}/retry", response=NasCommandOut)
def retry_command(request, command_id: IdParam):
    """Send a failed command again now. 409 ``nothing_to_retry`` unless it failed."""
    actor = require(request, *OPERATIONS)
    return services.retry_command(actor, selectors.command(command_id))


@router.post("/radius/commands/{command_id}/cancel", response=NasCommandOut)
def cancel_command(request, command_id: IdParam):
    actor = require(request, *OPERATIONS)
    return services.cancel_command(actor, selectors.command(command_id))
