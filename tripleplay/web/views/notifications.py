"""Notifications: the templates (admins edit; everyone previews), the outbox with its dead letters and a
retry (admin and finance), a customer's notification settings and recent notices. docs/notifications.md."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.core.errors import InvalidInput
from tripleplay.customers import selectors as customer_selectors
from tripleplay.money import Money
from tripleplay.notifications import catalogue, selectors, services
from tripleplay.notifications.models import Status
from tripleplay.web.access import ADMINS, OPERATIONS, READERS, action, page
from tripleplay.web.views.common import paginate, show


@page()
def overview(request):
    status = request.GET.get("status") or None
    if status not in (None, *Status.values):
        status = None
    return show(request, "notifications/overview.html", "notifications", templates=selectors.templates(),
                kinds=catalogue.KINDS, page=paginate(request, selectors.notifications(status=status)),
                status=status, statuses=Status.values,
                failed=selectors.notifications(status=Status.FAILED).count())


def _template_page(request, t, *, subject=None, body=None, preview=None):
    kind = catalogue.KINDS[t.kind]
    return show(request, "notifications/template.html", "notifications", tpl=t, kind=kind,
                subject=t.subject if subject is None else subject, body=t.body if body is None else body,
                preview=preview)


@page()
def template_detail(request, template_id: int):
    return _template_page(request, selectors.template(template_id))


@action(*READERS)
def template_preview(request, template_id: int):
    t = selectors.template(template_id)
    subject, body = request.POST.get("subject", "").strip(), request.POST.get("body", "")
    try:
        out = services.preview(t.kind, t.channel, t.language, subject=subject, body=body)
    except InvalidInput as e:
        messages.error(request, e.message)
        out = None
    return _template_page(request, t, subject=subject, body=body, preview=out)


@action(*ADMINS)
def template_update(request, template_id: int):
    t = services.update_template(request.actor, selectors.template(template_id),
                                 subject=request.POST.get("subject", ""), body=request.POST.get("body", ""),
                                 enabled=request.POST.get("enabled") == "on")
    messages.success(request, f"Template {t} saved.")
    return redirect("web:notification_template", t.pk)


@page()
def notification_detail(request, notification_id: int):
    return show(request, "notifications/detail.html", "notifications",
                notification=selectors.notification(notification_id))


@action(*OPERATIONS)
def notification_retry(request, notification_id: int):
    n = services.retry(request.actor, selectors.notification(notification_id))
    messages.success(request, f"Notification #{n.pk} will be sent again.")
    return redirect("web:notification", n.pk)


@page()
def customer_notifications(request, customer_id: int):
    customer = customer_selectors.customer(customer_id)
    prefs = selectors.preferences(customer)
    threshold = (Money(prefs.low_balance_threshold_minor, customer.currency)
                 if prefs.low_balance_threshold_minor is not None else None)
    return show(request, "notifications/customer.html", "customers", customer=customer, prefs=prefs,
                threshold=threshold, languages=catalogue.LANGUAGES,
                page=paginate(request, selectors.notifications(customer_id=customer.pk), per_page=20))


@action(*OPERATIONS)
def customer_preferences(request, customer_id: int):
    customer = customer_selectors.customer(customer_id)
    text = request.POST.get("threshold", "").strip()
    threshold = Money.parse(text, customer.currency).minor if text else None
    services.set_preferences(request.actor, customer, language=request.POST.get("language", ""),
                             low_balance_threshold_minor=threshold)
    messages.success(request, "Notification settings saved.")
    return redirect("web:customer_notifications", customer.pk)
