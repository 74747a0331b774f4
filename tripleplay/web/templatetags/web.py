"""Template helpers: money from minor units, status badges, role checks for buttons."""

from django import template
from django.utils.html import format_html

from tripleplay.money import Money
from tripleplay.web.access import can as can_do

register = template.Library()


@register.filter
def money(minor, currency: str) -> str:
    """``{{ entry.amount_minor|money:entry.currency }}`` -> '$12.50'."""
    if minor is None or not currency:
        return ""
    return Money(int(minor), currency).format()


@register.filter
def amount(value) -> str:
    """A Money -> '$12.50'."""
    return value.format() if value is not None else ""


_TONES = {"active": "ok", "ok": "ok", "done": "ok", "confirmed": "ok", "enabled": "ok",
          "suspended": "warn", "retry": "warn", "in_progress": "info", "pending": "info", "authorized": "info",
          "blocked": "bad", "failed": "bad", "declined": "bad", "closed": "muted", "retired": "muted",
          "cancelled": "muted", "superseded": "muted", "expired": "muted", "refunded": "muted", "disabled": "muted",
          "paid": "ok", "unpaid": "warn", "partially_paid": "warn", "overdue": "bad", "void": "muted", "issued": "info"}


@register.filter
def badge(status) -> str:
    status = str(status or "")
    return format_html('<span class="badge badge-{}">{}</span>', _TONES.get(status, "info"),
                       status.replace("_", " "))


@register.filter
def can(actor, what: str) -> bool:
    """``{% if request.actor|can:"operations" %}`` shows a button; the view checks again."""
    return can_do(actor, what)


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def micros(value) -> str:
    """Integer micro-units (rates, docs/money.md) as a decimal of the major unit: 15000 -> "0.015",
    100000 -> "0.10" (at least two decimals, never rounded)."""
    if value is None:
        return ""
    value = int(value)
    whole, frac = divmod(abs(value), 1_000_000)
    digits = f"{frac:06d}".rstrip("0")
    digits = digits + "0" * (2 - len(digits)) if len(digits) < 2 else digits
    return f"{'-' if value < 0 else ''}{whole}.{digits}"
