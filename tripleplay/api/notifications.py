"""Notifications: the catalogue of kinds, the templates (admins edit them; every role reads and previews),
the outbox with its dead letters (admin and finance retry), a customer's preferences (language,
low-balance threshold), and Twilio's status callbacks (no token: Twilio proves itself with
``X-Twilio-Signature``; unsigned or forged is 403 and changes nothing). docs/notifications.md."""

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import ErrorOut, IdParam, In, Text
from tripleplay.customers import selectors as customer_selectors
from tripleplay.notifications import catalogue, selectors, services

router = Router(tags=["notifications"])

KindCode = Literal[tuple(catalogue.KINDS)]  # type: ignore[valid-type]
Channel = Literal["email", "sms"]
Language = Literal["en", "de"]


class NotificationKindOut(Schema):
    code: str
    label: str
    channels: list[str] = Field(description="the channels its templates are shipped for")
    variables: list[str] = Field(description="what its templates may use, e.g. {{ customer_name }}")
    wired: bool = Field(description="false: listed for a caller to come (trials); nothing sends it yet")
    attaches_invoice: bool = Field(description="its e-mail carries the PDF of the invoice it names")


class NotificationTemplateOut(Schema):
    id: int
    kind: str
    channel: str
    language: str
    subject: str = Field(description="e-mail only; empty for SMS")
    body: str = Field(description="Django template syntax, rendered with the kind's variables")
    enabled: bool
    updated_at: datetime | None
    updated_by: str


class NotificationTemplatePatch(In):
    subject: Annotated[Text, Field(max_length=200)] | None = None
    body: Annotated[Text, Field(min_length=1, max_length=10_000)] | None = None
    enabled: StrictBool | None = None


class NotificationPreviewIn(In):
    subject: Annotated[Text, Field(max_length=200)] | None = Field(None, description="default: the saved subject")
    body: Annotated[Text, Field(min_length=1, max_length=10_000)] | None = Field(None, description="default: the saved body")


class NotificationPreviewOut(Schema):
    subject: str
    body: str
    sample: dict = Field(description="the sample values it was rendered with")


class NotificationOut(Schema):
    id: int
    customer_id: int
    kind: str
    channel: str
    language: str
    recipient: str
    subject: str
    body: str
    status: str = Field(description="pending, sending, sent, failed (the dead letter)")
    attempts: int
    next_attempt_at: datetime | None
    provider_id: str = Field(description="Twilio's message SID, or the e-mail's Message-ID")
    provider_status: str = Field(description="SMS: what Twilio reported since (sending, sent, delivered, undelivered, "
                                             "failed); empty before its first status callback")
    provider_error_code: str = Field(description="SMS: Twilio's error code of an undelivered or failed message")
    invoice_id: int | None = Field(description="e-mail: the invoice whose PDF it attaches")
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class NotificationFilter(Schema):
    status: Literal["pending", "sending", "sent", "failed"] | None = None
    customer_id: IdParam | None = None
    kind: KindCode | None = None  # type: ignore[valid-type]
    channel: Channel | None = None


class TemplateFilter(Schema):
    kind: KindCode | None = None  # type: ignore[valid-type]
    channel: Channel | None = None
    language: Language | None = None


class NotificationPreferencesOut(Schema):
    customer_id: int
    language: str = Field(description='"" = the portal login\'s language, else English')
    low_balance_threshold_minor: int | None = Field(description="warn below these available funds; null: never")
    low_balance_armed: bool = Field(description="false from a warning until the funds are back at the threshold")


class NotificationPreferencesPatch(In):
    language: Literal["", "en", "de"] | None = None
    low_balance_threshold_minor: Annotated[StrictInt, Field(ge=0, le=services.MAX_THRESHOLD_MINOR)] | None = Field(
        None, description="null: no warning")


def _notification(n) -> dict:
    return {f: getattr(n, f) for f in ("id", "customer_id", "kind", "channel", "language", "recipient", "subject",
                                        "body", "status", "attempts", "next_attempt_at", "provider_id",
                                        "provider_status", "provider_error_code", "invoice_id", "last_error",
                                        "created_at", "sent_at")}


def _preferences(p) -> dict:
    return {"customer_id": p.customer_id, "language": p.language,
            "low_balance_threshold_minor": p.low_balance_threshold_minor, "low_balance_armed": p.low_balance_armed}


@router.get("/notifications/kinds", response=list[NotificationKindOut])
def list_kinds(request):
    require(request, *READERS)
    return [{"code": k.code, "label": k.label, "channels": list(k.channels), "variables": list(k.variables),
             "wired": k.wired, "attaches_invoice": k.attach_invoice} for k in selectors.kinds()]


@router.get("/notifications/templates", response=list[NotificationTemplateOut])
@paginate(BoundedPagination)
def list_templates(request, filters: Query[TemplateFilter]):
    require(request, *READERS)
    return selectors.templates(filters.kind, filters.channel, filters.language)


@router.get("/notifications/templates/{template_id}", response=NotificationTemplateOut)
def get_template(request, template_id: IdParam):
    require(request, *READERS)
    return selectors.template(template_id)


@router.patch("/notifications/templates/{template_id}", response=NotificationTemplateOut)
def update_template(request, template_id: IdParam, payload: NotificationTemplatePatch):
    """Checked before it is saved (it parses, uses allowed tags only, renders the kind's sample): a bad
    template is 422 ``invalid_template`` and changes nothing. Later notices use it; written ones keep their text."""
    actor = require(request, *ADMINS)
    return services.update_template(actor, selectors.template(template_id), **payload.changes())


@router.post("/notifications/templates/{template_id}/preview", response=NotificationPreviewOut)
def preview_template(request, template_id: IdParam, payload: NotificationPreviewIn):
    """The text the template (or the subject and body given) gives for the kind's sample values; nothing is saved."""
    require(request, *READERS)
    t = selectors.template(template_id)
    out = services.preview(t.kind, t.channel, t.language, subject=t.subject if payload.subject is None else payload.subject,
                           body=t.body if payload.body is None else payload.body)
    sample = {k: str(v) if not isinstance(v, str) else v for k, v in catalogue.KINDS[t.kind].sample.items()}
    return {"subject": out.subject, "body": out.body, "sample": sample}


class SmsStatusOut(Schema):
    received: bool
    outcome: str = Field(description="updated, unchanged (not newer than what is known) or ignored (a status "
                                     "not tracked)")


@router.post("/notifications/twilio/status", auth=None, tags=["notifications (provider)"],
             response={200: SmsStatusOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut})
def twilio_status_callback(request):
    """Twilio's status callback for an SMS sent with ``StatusCallback`` (form-encoded MessageSid, MessageStatus,
    ErrorCode, ...), signed with the account's Auth Token in ``X-Twilio-Signature`` over the StatusCallback URL
    (TRIPLEPLAY_TWILIO_STATUS_CALLBACK, else this request's URL) and the parameters. Unsigned or forged: 403
    ``twilio_signature_invalid``, nothing changed; an unknown MessageSid: 404."""
    url = settings.TRIPLEPLAY_TWILIO_STATUS_CALLBACK or request.build_absolute_uri()
    params = [(k, v) for k, values in request.POST.lists() for v in values]
    outcome = services.record_sms_status(url, params, request.headers.get("X-Twilio-Signature"))
    return {"received": True, "outcome": outcome}


@router.get("/notifications", response=list[NotificationOut])
@paginate(BoundedPagination)
def list_notifications(request, filters: Query[NotificationFilter]):
    """The outbox, newest first; status=failed lists the dead letters."""
    require(request, *READERS)
    return [_notification(n) for n in selectors.notifications(status=filters.status, customer_id=filters.customer_id,
                                                               kind=filters.kind, channel=filters.channel)]


@router.get("/notifications/{notification_id}", response=NotificationOut)
def get_notification(request, notification_id: IdParam):
    require(request, *READERS)
    return _notification(selectors.notification(notification_id))


@router.post("/notifications/{notification_id}/retry", response=NotificationOut)
def retry_notification(request, notification_id: IdParam):
    """Send a failed notification again (409 ``not_failed`` for any other)."""
    actor = require(request, *OPERATIONS)
    return _notification(services.retry(actor, selectors.notification(notification_id)))


@router.get("/customers/{customer_id}/notification-preferences", response=NotificationPreferencesOut)
def get_preferences(request, customer_id: IdParam):
    require(request, *READERS)
    return _preferences(selectors.preferences(customer_selectors.customer(customer_id)))


@router.patch("/customers/{customer_id}/notification-preferences", response=NotificationPreferencesOut)
def update_preferences(request, customer_id: IdParam, payload: NotificationPreferencesPatch):
    """A new threshold arms the warning again."""
    actor = require(request, *OPERATIONS)
    changes = payload.changes()
    kwargs = {}
    if "language" in changes and changes["language"] is not None:
        kwargs["language"] = changes["language"]
    if "low_balance_threshold_minor" in changes:
        kwargs["low_balance_threshold_minor"] = changes["low_balance_threshold_minor"]
    return _preferences(services.set_preferences(actor, customer_selectors.customer(customer_id), **kwargs))


