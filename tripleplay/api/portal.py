"""A customer's access to the subscriber portal (/my/, docs/selfcare.md): read, invite, disable."""

from datetime import datetime

from ninja import Router, Schema

from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import ErrorOut, IdParam, In, RequiredText
from tripleplay.customers import selectors as customer_selectors
from tripleplay.subscriber_access import selectors, services

router = Router(tags=["portal access"])


class PortalAccessOut(Schema):
    customer_id: int
    status: str  # invited | active | disabled
    language: str
    invited_at: datetime | None
    password_set_at: datetime | None
    last_login_at: datetime | None
    disabled_at: datetime | None
    open_sessions: int

    @staticmethod
    def resolve_open_sessions(obj) -> int:
        return selectors.open_sessions(obj)


class PortalDisableIn(In):
    reason: RequiredText(200)


@router.get("/customers/{customer_id}/portal", response={200: PortalAccessOut, 404: ErrorOut})
def get_portal_access(request, customer_id: IdParam):
    """404 ``not_found`` for an unknown customer or one never invited."""
    require(request, *READERS)
    return selectors.login_of(customer_selectors.customer(customer_id))


@router.post("/customers/{customer_id}/portal/invite",
             response={200: PortalAccessOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 503: ErrorOut})
def invite(request, customer_id: IdParam):
    """E-mail the customer a single-use link that sets its portal password (valid
    TRIPLEPLAY_PORTAL_INVITE_HOURS); a newer link revokes the older; a disabled access reopens
    (without its old password). 422 ``invalid_input``: no e-mail address; 409 ``customer_closed``;
    503 ``mail_not_sent``: the mail server failed (invite again)."""
    actor = require(request, *OPERATIONS)
    invitation = services.invite(actor, customer_selectors.customer(customer_id))
    return selectors.login_of(invitation.login.customer_id)


@router.post("/customers/{customer_id}/portal/disable",
             response={200: PortalAccessOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def disable(request, customer_id: IdParam, payload: PortalDisableIn):
    """End every session and unused link; no login until a new invitation. 404: never invited;
    409 ``already_disabled``; 422: no reason."""
    actor = require(request, *OPERATIONS)
    services.disable(actor, customer_selectors.customer(customer_id), reason=payload.reason)
    return selectors.login_of(customer_id)
