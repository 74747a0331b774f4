from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor


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
