"""Writes of the notifications app: the outbox rows (``notify``, ``notify_many``), the templates operators
edit, the customers' preferences, an operator's retry, and the two scans that find what no hook reports
(low balance, packages ending). docs/notifications.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tripleplay.customers.models import AccountProduct, AssignmentRole, Customer
from tripleplay.customers.models import Status as CustomerStatus
from tripleplay.money import Money
from tripleplay.notifications import catalogue, rendering, sms
from tripleplay.notifications.models import Notification, Preference, ProviderStatus, Status, Template
from tripleplay.subscriber_access.models import SubscriberLogin

MAX_THRESHOLD_MINOR = 10**12


@dataclass(frozen=True)
class Request:
    """One notice to one customer: its kind, plain context values, and the key that makes it once only
    (per customer and kind: the change that causes it, "collection:17", "suspended:42")."""

    customer: Customer
    kind: str
    context: dict
    key: str
    invoice_id: int | None = None  # a kind that attaches the invoice's PDF to its e-mail names it (D200)


def notify(customer: Customer, kind: str, context: dict, *, key: str, invoice_id: int | None = None) -> list[Notification]:
    """The public door (trials will call it): write the customer's notices of ``kind`` into the outbox in
    the caller's transaction, one per channel that has an enabled template and an address. Rendered now
    in the customer's language (English when it has no template); ``key`` makes a repeat a no-op.
    ``invoice_id``: the invoice whose PDF a kind with ``attach_invoice`` attaches to its e-mail.
    Returns the rows written (none when the key was seen, or no channel applies)."""
    return notify_many([Request(customer, kind, context, key, invoice_id)])


def notify_many(requests: list[Request]) -> list[Notification]:
    """``notify`` for many customers at once (an invoice run's batch): the templates, languages and seen
    keys are read in a few queries, the rows inserted together."""
    if not requests:
        return []
    for r in requests:
        if r.kind not in catalogue.KINDS:
            raise ValueError(f"unknown notification kind {r.kind!r}")
        if catalogue.KINDS[r.kind].attach_invoice and r.invoice_id is None:
            raise ValueError(f"a {r.kind!r} notice attaches an invoice: invoice_id is required")
    templates = {(t.kind, t.channel, t.language): t
                 for t in Template.objects.filter(kind__in={r.kind for r in requests})}
    languages = customer_languages([r.customer for r in requests])
    now = clock.now()
    rows: list[Notification] = []
    for r in requests:
        lang = languages[r.customer.pk]
        for channel in catalogue.CHANNELS:
            recipient = r.customer.email if channel == catalogue.EMAIL else r.customer.phone
            t = templates.get((r.kind, channel, lang)) or templates.get((r.kind, channel, catalogue.FALLBACK))
            if not recipient or t is None or not t.enabled:
                continue
            try:
                text = rendering.render(t.subject, t.body, r.context, t.language)
            except rendering.TemplateProblem as e:  # an operator's template broke at render time: visible
                text = rendering.Rendered(t.subject[:200], f"[template {t} failed: {e}]")
                status, error = Status.FAILED, f"template: {e}"[:500]
            else:
                status, error = Status.PENDING, ""
            rows.append(Notification(
                key=f"{r.kind}:{channel}:{r.key}"[:160], customer=r.customer, kind=r.kind, channel=channel,
                language=t.language, recipient=recipient.strip(), subject=text.subject[:200], body=text.body,
                status=status, last_error=error, next_attempt_at=now if status == Status.PENDING else None,
                invoice_id=r.invoice_id if channel == catalogue.EMAIL and catalogue.KINDS[r.kind].attach_invoice else None,
                created_at=now))
    if not rows:
        return []
    seen = set(Notification.objects.filter(key__in=[n.key for n in rows]).values_list("key", flat=True))
    fresh = [n for n in rows if n.key not in seen]
    with transaction.atomic():  # a savepoint inside the change's transaction
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    # ignore_conflicts leaves the objects without their ids: read back the rows this call wrote.
    return list(Notification.objects.filter(key__in=[n.key for n in fresh], created_at=now).order_by("id"))


def customer_languages(customers: list[Customer]) -> dict[int, str]:
    """Each customer's language: its preference, else its portal login's choice, else English."""
    ids = {c.pk for c in customers}
    chosen = dict(Preference.objects.filter(customer_id__in=ids).exclude(language="").values_list("customer_id", "language"))
    portal = dict(SubscriberLogin.objects.filter(customer_id__in=ids - set(chosen)).exclude(language="")
                  .values_list("customer_id", "language"))
    out = {}
    for cid in ids:
        lang = chosen.get(cid) or portal.get(cid) or catalogue.FALLBACK
        out[cid] = lang if lang in catalogue.LANGUAGES else catalogue.FALLBACK
    return out


# -- templates ---------------------------------------------------------------------------------------------
def update_template(actor: Actor, template: Template, *, subject: str | None = None, body: str | None = None,
                    enabled: bool | None = None) -> Template:
    """An operator's edit: checked (it parses, uses only allowed tags, and renders the kind's sample)
    before it is saved; a bad one changes nothing."""
    subject = template.subject if subject is None else subject.strip()
    body = template.body if body is None else body
    if template.channel == catalogue.EMAIL and not subject:
        raise InvalidInput("an e-mail template needs a subject", code="subject_required", details={"field": "subject"})
    if template.channel == catalogue.SMS and subject:
        raise InvalidInput("an SMS has no subject", code="subject_not_allowed", details={"field": "subject"})
    if len(subject) > 200:
        raise InvalidInput("the subject is longer than 200 characters", code="subject_too_long",
                           details={"field": "subject"})
    if not body.strip() or len(body) > 10_000:
        raise InvalidInput("the body must have 1 to 10000 characters", code="body_blank", details={"field": "body"})
    for field, source in (("subject", subject), ("body", body)):
        try:
            rendering.check(source)
        except rendering.TemplateProblem as e:
            raise InvalidInput(f"the {field} is not a valid template: {e}", code="invalid_template",
                               details={"field": field}) from None
    preview(template.kind, template.channel, template.language, subject=subject, body=body)
    template.subject, template.body = subject, body
    if enabled is not None:
        template.enabled = enabled
    template.updated_at, template.updated_by = clock.now(), str(actor)[:150]
    template.save()
    record(actor, "notifications.template_updated", template, kind=template.kind, channel=template.channel,
           language=template.language, enabled=template.enabled)
    return template


def preview(kind: str, channel: str, language: str, *, subject: str, body: str) -> rendering.Rendered:
    """The text a template gives for its kind's sample values (nothing is saved or sent)."""
    try:
        return rendering.render(subject, body, catalogue.KINDS[kind].sample, language)
    except rendering.TemplateProblem as e:
        raise InvalidInput(f"the template does not render: {e}", code="invalid_template") from None


# -- preferences -------------------------------------------------------------------------------------------
def set_preferences(actor: Actor, customer: Customer, *, language: str | None = None,
                    low_balance_threshold_minor: int | None | type[...] = ...) -> Preference:
    """Change a customer's language and/or low-balance threshold (None: no warning). A new threshold
    arms the warning again, so a customer already below it is warned at the next scan."""
    if language is not None and language not in ("", *catalogue.LANGUAGES):
        raise InvalidInput(f"language must be one of {', '.join(catalogue.LANGUAGES)} or empty",
                           details={"field": "language"})
    t = low_balance_threshold_minor
    if t is not ... and t is not None and (
            isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= MAX_THRESHOLD_MINOR):
        raise InvalidInput("the threshold must be a whole number of minor units from 0", details={"field": "threshold"})
    with transaction.atomic():
        pref, _ = Preference.objects.select_for_update().get_or_create(customer=customer)
        if language is not None:
            pref.language = language
        if t is not ... and t != pref.low_balance_threshold_minor:
            pref.low_balance_threshold_minor, pref.low_balance_armed = t, True
        pref.updated_at = clock.now()
        pref.save()
        record(actor, "notifications.preferences_changed", customer, language=pref.language,
               low_balance_threshold_minor=pref.low_balance_threshold_minor)
    return pref


# -- the outbox --------------------------------------------------------------------------------------------
def retry(actor: Actor, notification: Notification) -> Notification:
    """An operator sends a failed notification again (after fixing the address or the provider's
    settings, or having checked that an unknown outcome was not delivered)."""
    with transaction.atomic():
        n = Notification.objects.select_for_update().get(pk=notification.pk)
        if n.status != Status.FAILED:
            raise Conflict(f"only a failed notification can be retried (this one is {n.status})", code="not_failed")
        n.status, n.next_attempt_at, n.last_error = Status.PENDING, clock.now(), ""
        n.lease_owner, n.lease_until, n.attempts = "", None, 0
        # The provider's reports of the failed attempt no longer apply: the new attempt gets its own.
        n.provider_id, n.provider_status, n.provider_status_at, n.provider_error_code = "", "", None, ""
        n.save(update_fields=["status", "next_attempt_at", "last_error", "lease_owner", "lease_until", "attempts",
                              "provider_id", "provider_status", "provider_status_at", "provider_error_code"])
        record(actor, "notifications.retried", n, kind=n.kind, channel=n.channel)
    return n


# -- the SMS provider's status callbacks ------------------------------------------------------------------
# Twilio's statuses of an outbound message in their order; the last three are final (none follows another).
SMS_STATUS_RANK = {ProviderStatus.QUEUED: 1, ProviderStatus.SENDING: 2, ProviderStatus.SENT: 3,
                   ProviderStatus.DELIVERED: 4, ProviderStatus.UNDELIVERED: 4, ProviderStatus.FAILED: 4}


class SignatureInvalid(PermissionDenied):
    code = "twilio_signature_invalid"


def record_sms_status(url: str, params: list[tuple[str, str]], given_signature: str | None) -> str:
    """A Twilio status callback (D202): checked against ``X-Twilio-Signature`` with the account's Auth Token
    over ``url`` (the StatusCallback URL Twilio was given) and the POST parameters; unsigned or forged is
    SignatureInvalid (403) and changes nothing. The message's provider status only moves forward (a late
    "sent" after "delivered" changes nothing). "undelivered" and "failed" make a sent notification a dead
    letter with Twilio's error code, for an operator to see and retry. Returns "updated", "unchanged" or
    "ignored" (a status tripleplay does not track, e.g. "read")."""
    if not sms.signature_valid(settings.TRIPLEPLAY_TWILIO_AUTH_TOKEN, url, params, given_signature):
        raise SignatureInvalid("the request is not signed by the configured Twilio account")
    form = dict(params)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if form.get("AccountSid") != settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID:
        raise SignatureInvalid("the callback is for another Twilio account")
    if not sid:
        raise InvalidInput("MessageSid is required", details={"field": "MessageSid"})
    if status not in SMS_STATUS_RANK:
        return "ignored"
    error_code = "".join(ch for ch in form.get("ErrorCode", "") if ch.isdigit())[:10]
    with transaction.atomic():
        n = (Notification.objects.select_for_update().filter(provider_id=sid, channel=catalogue.SMS)
             .order_by("-id").first())
        if n is None:
            raise NotFound(f"no SMS notification has the message SID {sid}", code="unknown_message")
        if SMS_STATUS_RANK.get(n.provider_status, 0) >= SMS_STATUS_RANK[status]:
            return "unchanged"
        n.provider_status, n.provider_status_at, n.provider_error_code = status, clock.now(), error_code
        fields = ["provider_status", "provider_status_at", "provider_error_code"]
        if status in (ProviderStatus.UNDELIVERED, ProviderStatus.FAILED) and n.status == Status.SENT:
            n.status = Status.FAILED
            n.last_error = f"Twilio reports the message {status}" + (f" (error {error_code})" if error_code else "")
            fields += ["status", "last_error"]
        n.save(update_fields=fields)
    return "updated"


# -- scans ---------------------------------------------------------------------------------------------------
def scan_low_balance(limit: int = 1000) -> tuple[int, int]:
    """Warn the customers whose available funds fell below their threshold, once, and re-arm those
    whose funds are back at or above it. Funds change through many doors (per record, set-based,
    inside PostgreSQL for PPV), so a scan finds the crossing rather than a hook on each (D111). Returns
    (warned, re-armed)."""
    funds = "customer__funds__"
    available = F(funds + "balance_minor") + F(funds + "credit_limit_minor") - F(funds + "held_minor")
    warned = rearmed = 0
    with transaction.atomic():
        base = Preference.objects.filter(low_balance_threshold_minor__isnull=False).annotate(available=available)
        below = list(base.filter(low_balance_armed=True, available__lt=F("low_balance_threshold_minor"))
                     .exclude(customer__status=CustomerStatus.CLOSED).select_related("customer")
                     .order_by("customer_id")[:limit])
        requests = []
        for p in below:
            if not Preference.objects.filter(pk=p.pk, low_balance_armed=True).update(
                    low_balance_armed=False, low_balance_warnings=F("low_balance_warnings") + 1):
                continue
            c = p.customer
            requests.append(Request(c, "low_balance", {
                "customer_name": c.name, "available": Money(p.available, c.currency),
                "threshold": Money(p.low_balance_threshold_minor, c.currency)},
                key=f"{c.pk}:{p.low_balance_warnings + 1}"))
        notify_many(requests)
        warned = len(requests)
        rearmed = base.filter(low_balance_armed=False, available__gte=F("low_balance_threshold_minor")).update(
            low_balance_armed=True)
    return warned, rearmed


def scan_packages_ending(days: int | None = None) -> int:
    """Tell the customers whose add-on is scheduled to end within ``days`` (the setting), once per
    assignment and end date. ``end_date`` is the first day without the service, so the notice names the
    day before it, the last day with it. Returns how many notifications were written."""
    days = settings.TRIPLEPLAY_NOTIFY_PACKAGE_ENDING_DAYS if days is None else days
    today = clock.today()
    ending = (AccountProduct.objects.filter(role=AssignmentRole.ADDON, end_date__gt=today,
                                            end_date__lte=today + timedelta(days=days))
              .exclude(end_date=F("start_date")).exclude(account__customer__status=CustomerStatus.CLOSED)
              .select_related("account__customer", "product").order_by("id"))
    with transaction.atomic():
        written = notify_many([Request(ap.account.customer, "package_ending", {
            "customer_name": ap.account.customer.name, "package": ap.product.name,
            "last_day": ap.end_date - timedelta(days=1)}, key=f"{ap.pk}:{ap.end_date.isoformat()}") for ap in ending])
    return len(written)
