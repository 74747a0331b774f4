"""Money and dates in the subscriber's language (Babel): ``{{ money|money }}``, ``{{ day|day }}``,
``{{ at|moment }}``."""

from datetime import date, datetime

from babel.dates import format_date, format_datetime, get_timezone
from django import template
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from tripleplay.money import Money

register = template.Library()
_LOCALES = {"en": "en_US", "de": "de_DE"}


def locale() -> str:
    return _LOCALES.get((translation.get_language() or "en")[:2], "en_US")


@register.filter
def money(value: Money | None) -> str:
    return "" if value is None else value.format(locale())


@register.filter
def day(value: date | None) -> str:
    return "" if value is None else format_date(value, format="medium", locale=locale())


@register.filter
def moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="medium", tzinfo=get_timezone(settings.TIME_ZONE), locale=locale())


@register.filter
def minor(value: int | None, currency: str) -> str:
    """``{{ row.amount_minor|minor:row.currency }}``: minor units of ``currency``, formatted."""
    return "" if value is None or not currency else Money(value, currency).format(locale())


@register.filter
def per_period(code: str) -> str:
    """A plan's period as "per ..." text in the subscriber's language (the catalog's labels are English)."""
    return {"daily": _("per day"), "weekly": _("per week"), "semimonthly": _("per half month"),
            "monthly": _("per month"), "quarterly": _("per quarter"), "semiannual": _("per half year"),
            "annual": _("per year")}.get(code, code)


@register.filter
def purchase_status(code: str) -> str:
    """A PPV purchase's status in the subscriber's language."""
    return {"declined": _("declined"), "authorized": _("reserved"), "confirmed": _("bought"),
            "cancelled": _("cancelled"), "expired": _("expired"), "refunded": _("refunded")}.get(code, code)
