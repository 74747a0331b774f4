from datetime import datetime
from typing import NamedTuple

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.bulk import INT8, JSONB, TEXT, TIMESTAMPTZ, insert, insert_rows, reserve_ids


def record(actor: Actor, action: str, obj, **data) -> AuditEvent:
    """Record an action on ``obj`` (a model instance). Call inside the service's transaction."""
    event = AuditEvent(
        at=clock.now(),
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        data=data,
    )
    event.set_actor(actor)
    event.save()
    return event


# -- set-based (the invoice run; bulk rating's charges through the ledger): rows written by core.bulk --


def record_many(actor: Actor, action: str, object_type: str, data_by_object: dict[str, dict], *, at) -> None:
    """Record one action on many objects (``data_by_object``: object id -> its event's data) in one
    set-based insert (the invoice run's "invoice.issued"); the caller's transaction, as ``record``."""
    kind = str(actor.kind)
    insert(AuditEvent, ["at", "action", "object_type", "object_id", "data", "actor_kind", "actor_ref", "actor_name"],
           [(at, action, object_type, object_id, data, kind, actor.ref, actor.name)
            for object_id, data in data_by_object.items()])


class EventRow(NamedTuple):
    """An event as a set-based writer gives it (``insert_events``), its data as JSON text (wrapped for
    COPY on PostgreSQL)."""
    id: int
    actor_kind: str
    actor_ref: str
    actor_name: str
    at: datetime
    action: str
    object_type: str
    object_id: str
    data: object


# EventRow's columns and their PostgreSQL types (binary COPY).
EVENT_COLUMNS = {"id": INT8, "actor_kind": TEXT, "actor_ref": TEXT, "actor_name": TEXT, "at": TIMESTAMPTZ,
                 "action": TEXT, "object_type": TEXT, "object_id": TEXT, "data": JSONB}
assert tuple(EVENT_COLUMNS) == EventRow._fields


def reserve_event_ids(n: int) -> list[int]:
    """``n`` event ids taken ahead, so that a second thread can build the rows (ids may have holes)."""
    return reserve_ids(AuditEvent._meta.db_table, n)


def insert_events(rows: list[EventRow]) -> None:
    """Events with ids from ``reserve_event_ids``, in the caller's transaction."""
    insert_rows(AuditEvent._meta.db_table, EVENT_COLUMNS, rows)
