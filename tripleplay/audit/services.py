from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.bulk import INT8, JSONB, TEXT, TIMESTAMPTZ, insert_rows, reserve_ids


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


# -- set-based (bulk rating's charges through the ledger; core.bulk writes the rows) ------------------

# The event row as a set-based writer gives it, column -> PostgreSQL type (binary COPY), data as JSON text.
EVENT_COLUMNS = {"id": INT8, "actor_kind": TEXT, "actor_ref": TEXT, "actor_name": TEXT, "at": TIMESTAMPTZ,
                 "action": TEXT, "object_type": TEXT, "object_id": TEXT, "data": JSONB}


def reserve_event_ids(n: int) -> list[int]:
    """``n`` event ids taken ahead, so that a second thread can build the rows (ids may have holes)."""
    return reserve_ids(AuditEvent._meta.db_table, n)


def insert_events(rows: list[tuple]) -> None:
    """Events in EVENT_COLUMNS order (ids from ``reserve_event_ids``), in the caller's transaction."""
    insert_rows(AuditEvent._meta.db_table, EVENT_COLUMNS, rows)
