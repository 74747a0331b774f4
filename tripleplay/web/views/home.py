"""Log in and out, the dashboard, the audit trail."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.customers.models import Customer
from tripleplay.iptv import selectors as iptv_selectors
from tripleplay.web import charts
from tripleplay.web import selectors as web_selectors
from tripleplay.web.access import page
from tripleplay.web.views.common import paginate, show


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    next_page = "/"


class LogoutView(auth_views.LogoutView):
    next_page = "/login/"


@page()
def dashboard(request):
    start, end = web_selectors.this_month()
    revenue = web_selectors.revenue_by_service(start, end)
    return show(request, "dashboard.html", "dashboard",
                statuses=web_selectors.customers_by_status(), customers_total=Customer.objects.count(),
                revenue=revenue, chart=charts.bar_chart([(f"{r['service']} ({r['currency']})", r["amount_minor"],
                                                          r["currency"]) for r in revenue]),
                period=(start, end), queue=iptv_selectors.queue_health(),
                ppv_today=web_selectors.ppv_purchases_on(clock.today()), today=clock.today(),
                failures=web_selectors.recent_failures())


@page()
def audit(request):
    qs = AuditEvent.objects.order_by("-at", "-id")
    action, who = (request.GET.get("action") or "").strip(), (request.GET.get("who") or "").strip()
    if action:
        qs = qs.filter(action__icontains=action)
    if who:
        qs = qs.filter(actor_name__icontains=who)
    events = paginate(request, qs, 100)
    return show(request, "audit.html", "audit", events=events, page=events, filters=request.GET)
