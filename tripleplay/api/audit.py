"""The audit trail: who did what, when, to which object. Read-only."""

from datetime import datetime

from ninja import Router, Schema
from ninja.pagination import paginate

from tripleplay.api.pagination import CursorPagination
from tripleplay.api.permissions import READERS, require
from tripleplay.api.schemas import ActorOut, QueryText
from tripleplay.audit import selectors

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    id: int
    at: datetime
    action: str
    object_type: str
    object_id: str
    actor: ActorOut
    data: dict

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_name}


@router.get("/audit", response=list[AuditEventOut])
@paginate(CursorPagination, created="at")
def list_audit_events(request, object_type: QueryText | None = None, object_id: QueryText | None = None,
                      action: QueryText | None = None):
    """Newest first. ``object_type`` is the model name: customer, account, ledgerentry, hold, product ..."""
    require(request, *READERS)
    return selectors.audit_events(object_type=object_type, object_id=object_id, action=action)
