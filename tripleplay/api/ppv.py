"""Pay-per-view, real time, for platforms (JSON): authorize, confirm, cancel, purchase.

Authentication: the platform's inbound token, ``Authorization: Bearer tpp_...`` (issued with
``tripleplay add-platform`` or POST /api/v1/iptv/platforms/{id}/inbound-token). A platform acts only
on its own subscribers and its own authorizations: anything else is "unknown".

Business answers (approved, declined with a reason code, confirmed, cancelled) are 200 with the
answer as the body; an unknown authorization is 404, an authorization no longer open 409, a bad
final amount 422, all with the same answer shape (``result`` "error" and a ``code``). Malformed
requests get the API's usual error shape. Every call is idempotent by the platform's transaction id.
The XML twin is POST /xml/v1/ppv (tripleplay/api/xml.py).
"""

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import StrictInt

from tripleplay.api.auth import PlatformCredentials, platform_credentials, platform_for
from tripleplay.api.schemas import MAX_MINOR, PRINTABLE_REF_PATTERN, Id, In
from tripleplay.ppv import services

# ppv.services._ref's rule (printable, not blank; D97), which refuses NUL too (D69), declared and run in
# pydantic-core: no Python on the hot path.
Ref = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE_REF_PATTERN)]


class PlatformToken(HttpBearer):
    """A platform's inbound token; the platform lands on ``request.platform``. No bearer token at
    all is ninja's plain 401; a bearer token that is not a platform's says so."""

    def __call__(self, request: HttpRequest):
        credentials = platform_credentials(request.headers.get("Authorization"), basic=False)
        if credentials is None:
            return None
        return self.authenticate(request, credentials.token)

    def authenticate(self, request: HttpRequest, token: str):
        platform = platform_for(PlatformCredentials(token, None))
        if platform is None:
            raise AuthenticationError(message="invalid platform token")
        request.platform = platform
        return platform


router = Router(tags=["ppv (platforms)"], auth=PlatformToken())


class AuthorizeIn(In):
    transaction_id: Ref = Field(description="the platform's id for this purchase; retries reuse it")
    subscriber: Ref = Field(description="tripleplay's subscriber id on the platform (e.g. tp-42)")
    event_id: Ref | None = Field(None, description="a PPV event of this platform")
    price_minor: StrictInt | None = Field(None, ge=0, le=MAX_MINOR, description="explicit price, when there is no event")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code in capitals")] | None = None


class SettleIn(In):
    transaction_id: Ref | None = None
    authorization_id: Id | None = None


class ConfirmIn(SettleIn):
    amount_minor: StrictInt | None = Field(None, ge=0, le=MAX_MINOR, description="final amount, at most the held price")


class AnswerOut(Schema):
    result: str = Field(description="approved, declined, confirmed, cancelled or error")
    code: str = Field(description="ok, or the reason (insufficient_funds, customer_blocked, ...)")
    message: str
    transaction_id: str | None = None
    authorization_id: int | None = None
    subscriber: str | None = None
    event_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    available_minor: int | None = Field(None, description="the customer's available funds after this call")
    expires_at: str | None = Field(None, description="when an approved authorization lapses")


def _reply(answer: services.Answer) -> Status:
    return Status(answer.http_status, dict(answer))


ANSWERS = {200: AnswerOut, 404: AnswerOut, 409: AnswerOut, 422: AnswerOut}


@router.post("/ppv/authorize", response=ANSWERS)
def authorize(request, payload: AuthorizeIn):
    return _reply(services.authorize(request.platform, **payload.model_dump()))


@router.post("/ppv/confirm", response=ANSWERS)
def confirm(request, payload: ConfirmIn):
    return _reply(services.confirm(request.platform, **payload.model_dump()))


@router.post("/ppv/cancel", response=ANSWERS)
def cancel(request, payload: SettleIn):
    return _reply(services.cancel(request.platform, **payload.model_dump()))


@router.post("/ppv/purchase", response=ANSWERS)
def purchase(request, payload: AuthorizeIn):
    return _reply(services.purchase(request.platform, **payload.model_dump()))
