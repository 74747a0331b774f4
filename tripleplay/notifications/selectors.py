"""Reads of the notifications app, for the API and the operator UI."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Customer
from tripleplay.notifications import catalogue
from tripleplay.notifications.models import Notification, Preference, Template


def templates(kind: str | None = None, channel: str | None = None, language: str | None = None) -> QuerySet[Template]:
    qs = Template.objects.order_by("kind", "channel", "language")
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    if language:
        qs = qs.filter(language=language)
    return qs


def template(template_id: int) -> Template:
    try:
        return Template.objects.get(pk=template_id)
    except Template.DoesNotExist:
        raise NotFound(f"notification template {template_id} not found") from None


def notifications(*, status: str | None = None, customer_id: int | None = None, kind: str | None = None,
                  channel: str | None = None) -> QuerySet[Notification]:
    """Newest first."""
    qs = Notification.objects.order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def notification(notification_id: int) -> Notification:
    try:
        return Notification.objects.get(pk=notification_id)
    except Notification.DoesNotExist:
        raise NotFound(f"notification {notification_id} not found") from None


def preferences(customer: Customer) -> Preference:
    """The customer's row, or an unsaved one with the defaults."""
    return Preference.objects.filter(customer=customer).first() or Preference(customer=customer)


def kinds() -> list[catalogue.Kind]:
    return list(catalogue.KINDS.values())
