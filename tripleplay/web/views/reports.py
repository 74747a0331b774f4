"""Reports: subscribers per channel package per day, PPV revenue per content owner (the basis of
royalty reports to rights owners) and revenue by service for a period; each also as CSV."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from django.http import HttpResponse

from tripleplay.money import Money
from tripleplay.ppv import selectors as ppv_selectors
from tripleplay.web import selectors as web_selectors
from tripleplay.web.access import page
from tripleplay.web.views.common import show

REPORTS = ("packages", "ppv", "revenue")


def _day(value: str | None, default: date) -> tuple[date, str]:
    if not value:
        return default, ""
    try:
        return date.fromisoformat(value), ""
    except ValueError:
        return default, f"{value!r} is not a date (YYYY-MM-DD); showing {default.isoformat()} instead."


def _amount(minor: int, currency: str) -> str:
    return Money(minor, currency).amount_text()


def _rows(report: str, start: date, end: date, platform_id: int | None) -> tuple[list[str], list[list]]:
    if report == "packages":
        data = web_selectors.package_subscribers_per_day(start, end, platform_id)
        return (["day", "platform", "package", "name", "subscribers"],
                [[r["day"].isoformat(), r["platform"], r["package"], r["name"], r["subscribers"]] for r in data])
    if report == "ppv":
        data = ppv_selectors.revenue(start, end)
        return (["content_owner", "currency", "confirmed", "confirmed_count", "refunded", "refunded_count", "net"],
                [[r["content_owner"] or "(none)", r["currency"], _amount(r["confirmed_minor"], r["currency"]),
                  r["confirmed_count"], _amount(r["refunded_minor"], r["currency"]), r["refunded_count"],
                  _amount(r["net_minor"], r["currency"])] for r in data])
    data = web_selectors.revenue_by_service(start, end)
    return (["service", "currency", "amount", "entries"],
            [[r["service"], r["currency"], _amount(r["amount_minor"], r["currency"]), r["entries"]] for r in data])


@page()
def reports(request):
    first, last = web_selectors.this_month()
    start, error1 = _day(request.GET.get("from"), first)
    end, error2 = _day(request.GET.get("to"), last)
    errors = [e for e in (error1, error2) if e]
    if end < start:
        errors.append("The end date is before the start date; showing one day.")
        end = start
    if (end - start).days >= web_selectors.MAX_REPORT_DAYS:
        errors.append(f"At most {web_selectors.MAX_REPORT_DAYS} days at a time; the period was shortened.")
        end = start + timedelta(days=web_selectors.MAX_REPORT_DAYS - 1)
    platform = request.GET.get("platform") or ""
    platform_id = int(platform) if platform.isdigit() else None
    report = request.GET.get("format") == "csv" and request.GET.get("report")
    if report in REPORTS:
        header, rows = _rows(report, start, end, platform_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{report}-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerow(header)
        writer.writerows(rows)
        return response
    from tripleplay.iptv import selectors as iptv_selectors

    tables = {name: _rows(name, start, end, platform_id) for name in REPORTS}
    return show(request, "reports.html", "reports", start=start, end=end, errors=errors, tables=tables,
                platforms=iptv_selectors.platforms(), platform_id=platform_id,
                query=f"from={start.isoformat()}&to={end.isoformat()}&platform={platform_id or ''}")
