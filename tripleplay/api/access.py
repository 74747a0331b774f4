"""API clients (admins only) and the caller's own identity (GET /me, anyone signed in)."""

from datetime import datetime

from django.middleware.csrf import get_token
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from tripleplay.access import selectors, services
from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, READERS, require
from tripleplay.api.schemas import IdParam, In, RequiredText
from tripleplay.core.actors import ActorKind, Role

router = Router(tags=["access"])


ClientName = RequiredText(100)  # access.models.ApiClient.name


class ApiClientIn(In):
    name: ClientName
    role: Role


class ApiClientOut(Schema):
    id: int
    name: str
    role: str
    token_prefix: str = Field(description="the token's first characters, to tell tokens apart")
    is_active: bool
    created_at: datetime
    last_used_at: datetime | None


class ApiClientCreatedOut(ApiClientOut):
    token: str = Field(description="shown once, never retrievable again: store it now")


class MeOut(Schema):
    kind: str = Field(description="operator or api_client")
    name: str
    role: str


@router.get("/me", response=MeOut)
def me(request):
    """Who the caller is. For a session, also sets the csrftoken cookie the unsafe methods need."""
    actor = require(request, *READERS)
    if actor.kind == ActorKind.OPERATOR:
        get_token(request)
    return {"kind": str(actor.kind), "name": actor.name, "role": actor.role.value}


@router.get("/api-clients", response=list[ApiClientOut])
@paginate(BoundedPagination)
def list_api_clients(request):
    require(request, *ADMINS)
    return selectors.api_clients()


@router.post("/api-clients", response={201: ApiClientCreatedOut})
@idempotent_create(secret=True)
def create_api_client(request, payload: ApiClientIn):
    actor = require(request, *ADMINS)
    client, token = services.create_api_client(actor, name=payload.name, role=payload.role)
    return {**ApiClientOut.model_validate(client).model_dump(), "token": token}


@router.post("/api-clients/{client_id}/revoke", response=ApiClientOut)
def revoke_api_client(request, client_id: IdParam):
    """The token stops working at once. Idempotent."""
    actor = require(request, *ADMINS)
    return services.revoke_api_client(actor, selectors.api_client(client_id))
