"""The subscriber portal's pages (docs/selfcare.md). Each view parses, finds the object among the
logged-in customer's own (another customer's id is a 404), calls one service or selectors, renders.

Money in: "Pay online" and "Top up" start the payment provider's hosted checkout
(payments.services.start_checkout) and send the browser there; the provider's signed webhook records
the payment, never these pages (the return page only shows what the webhook recorded). They are not
offered when no provider is configured. "Redeem a voucher" is vouchers.services.redeem, whose
throttle counts per customer and per subscriber."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tripleplay import clock
from tripleplay.catalog.models import CatalogStatus, ProductKind, SubscriptionPlan
from tripleplay.core.clientip import client_address
from tripleplay.core.errors import DomainError, NotFound
from tripleplay.customers import selectors as customer_selectors
from tripleplay.customers.models import AccountProduct, AssignmentRole, HoldStatus, Status
from tripleplay.customers.services import remove_addon
from tripleplay.customers.vacation import cancel_hold, schedule_hold
from tripleplay.invoicing import documents
from tripleplay.invoicing import selectors as invoice_selectors
from tripleplay.invoicing.models import InvoiceStatus
from tripleplay.iptv.models import ProductPackage
from tripleplay.ledger import selectors as ledger_selectors
from tripleplay.ledger.models import EntryKind
from tripleplay.money import AmountFormatError, Money
from tripleplay.payments import selectors as payment_selectors
from tripleplay.payments import services as payment_services
from tripleplay.ppv import selectors as ppv_selectors
from tripleplay.ppv import services as ppv_services
from tripleplay.rating import selectors as rating_selectors
from tripleplay.selfcare.access import (
    COOKIE,
    COOKIE_PATH,
    LANGUAGE_COOKIE,
    describe,
    public,
    safe_next,
    set_session_cookie,
    subscriber_action,
    subscriber_page,
)
from tripleplay.selfcare.templatetags.selfcare import money
from tripleplay.subscriber_access import services as access
from tripleplay.subscriptions.services import add_addon_and_charge, quote_addon
from tripleplay.vouchers import services as voucher_services

OPEN = (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
PAGE = 50  # rows per list: the newest; the operator has the full history


def _show(request, template: str, section: str, **context):
    context.update(section=section, languages=settings.LANGUAGES,
                   pay_online=payment_selectors.online_payments_enabled())
    return render(request, f"selfcare/{template}", context)


def _client_address(request) -> str:
    return client_address(request)  # behind the proxy, the client's (core/clientip.py)


# -- the door -------------------------------------------------------------------------------------


@public
@require_http_methods(["GET", "HEAD", "POST"])
def login(request):
    target = safe_next(request, request.POST.get("next") or request.GET.get("next"), reverse("selfcare:home"))
    if request.method == "POST":
        try:
            new = access.log_in(request.POST.get("identity", ""), request.POST.get("password", ""),
                                address=_client_address(request))
        except DomainError as e:
            status = e.http_status if e.http_status in (401, 422, 429) else 400
            return render(request, "selfcare/login.html",
                          {"error": describe(e), "identity": request.POST.get("identity", "")[:254], "next": target,
                           "languages": settings.LANGUAGES, "section": "login"}, status=status)
        response = redirect(target)
        set_session_cookie(response, new.key)
        return response
    return _show(request, "login.html", "login", next=target)


@require_POST
def logout(request):
    access.log_out(request.COOKIES.get(COOKIE))
    response = redirect("selfcare:login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@public
@require_http_methods(["GET", "HEAD", "POST"])
def forgot_password(request):
    if request.method == "POST":
        try:
            access.request_reset(request.POST.get("identity", ""))
        except DomainError:
            pass  # say the same whatever happened: no account discovery
        messages.success(request, _("If this login exists, we have sent a link to its e-mail address."))
        return redirect("selfcare:login")
    return _show(request, "forgot.html", "login")


@public
@require_http_methods(["GET", "HEAD", "POST"])
def set_password(request, token: str):
    if request.method == "POST":
        if request.POST.get("password", "") != request.POST.get("password2", ""):
            return render(request, "selfcare/set_password.html",
                          {"error": _("The two passwords differ."), "languages": settings.LANGUAGES, "section": "login"},
                          status=422)
        try:
            access.set_password_with_token(token, request.POST.get("password", ""))
        except DomainError as e:
            return render(request, "selfcare/set_password.html", {"error": describe(e), "languages": settings.LANGUAGES,
                                                                  "section": "login"}, status=422)
        messages.success(request, _("Your password is set. Log in with it."))
        return redirect("selfcare:login")
    return _show(request, "set_password.html", "login")


@public
@require_POST
def language(request):
    """Choose the portal's language: a cookie for this browser, and the customer's setting when logged in."""
    chosen = request.POST.get("language", "")
    if chosen not in access.LANGUAGES:
        chosen = ""
    login = access.session_login(request.COOKIES.get(COOKIE))
    if login is not None:
        access.set_language(login, chosen)
    response = redirect(safe_next(request, request.POST.get("next"), reverse("selfcare:home")))
    if chosen:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, path=COOKIE_PATH, samesite="Lax")
    else:
        response.delete_cookie(LANGUAGE_COOKIE, path=COOKIE_PATH)
    return response


# -- what the subscriber sees ----------------------------------------------------------------------


@subscriber_page
def home(request):
    c = request.customer
    open_invoices = list(invoice_selectors.invoices(c.pk).filter(status__in=OPEN).order_by("due_date", "id"))
    return _show(request, "home.html", "home", customer=c, funds=ledger_selectors.funds_of(c),
                 open_invoices=open_invoices,
                 open_total=Money(sum(i.open_minor for i in open_invoices), c.currency),
                 payments=list(ledger_selectors.entries_of(c, kind=EntryKind.PAYMENT).order_by("-created_at", "-id")[:5]),
                 accounts=_accounts(c))


@subscriber_page
def invoices(request):
    c = request.customer
    return _show(request, "invoices.html", "invoices", customer=c,
                 invoices=list(invoice_selectors.invoices(c.pk).exclude(status=InvoiceStatus.VOID)
                               .order_by("-issue_date", "-id")[:PAGE]), open_statuses=OPEN)


@subscriber_page
def invoice_pdf(request, invoice_id: int):
    invoice = _own_invoice(request, invoice_id)
    response = HttpResponse(documents.pdf_bytes(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number_text}.pdf"'
    return response


def _own_invoice(request, invoice_id: int):
    invoice = invoice_selectors.get_invoice(invoice_id)
    if invoice.customer_id != request.customer.pk or invoice.status == InvoiceStatus.VOID:
        raise NotFound("no such invoice")
    return invoice


@subscriber_action
def invoice_pay(request, invoice_id: int):
    """Pay an open invoice online: the provider's hosted page, for the invoice's open amount."""
    invoice = _own_invoice(request, invoice_id)
    session = payment_services.start_checkout(request.actor, request.customer, invoice=invoice,
                                              return_path=reverse("selfcare:checkout_return"))
    return redirect(session.url)


def _top_up_amount(request) -> Money | None:
    """The typed amount, exact in the customer's currency (no float), within (0, the portal's maximum]."""
    currency = request.customer.currency
    # The setting is in major units and may carry more decimals than this customer's currency has
    # (one installation, several currencies): the limit is rounded down, never up, and never a 500.
    most = Money.from_decimal(Decimal(str(settings.TRIPLEPLAY_PORTAL_TOP_UP_MAX)), currency, rounding="ROUND_DOWN")
    text = request.POST.get("amount", "").strip()
    try:
        amount = Money.parse(text, currency) if len(text) <= 32 else None
    except AmountFormatError:
        amount = None
    if amount is None or amount.minor <= 0 or amount > most:
        messages.error(request, _("Type an amount greater than zero and at most %(most)s, such as %(example)s.")
                       % {"most": money(most), "example": Money.parse("20", currency).amount_text()})
        return None
    return amount


@subscriber_action
def top_up(request):
    """Top up the customer's funds online: the provider's hosted page for the typed amount."""
    amount = _top_up_amount(request)
    if amount is None:
        return redirect(safe_next(request, request.POST.get("next"), reverse("selfcare:home")))
    session = payment_services.start_checkout(request.actor, request.customer, amount=amount,
                                              return_path=reverse("selfcare:checkout_return"))
    return redirect(session.url)


@subscriber_page
def checkout_return(request):
    """Where the provider sends the subscriber back: what the signed webhook has recorded so far
    (this page marks nothing paid). Another customer's session is a 404."""
    session = None
    session_id = request.GET.get("session_id", "")[:100]
    if session_id:
        session = payment_selectors.checkout_by_provider_id(session_id)
        if session is None or session.customer_id != request.customer.pk:
            raise NotFound("no such checkout")
    return _show(request, "checkout_return.html", "payments", session=session,
                 cancelled=session is None and request.GET.get("cancelled") == "1")


@subscriber_action
def redeem_voucher(request):
    """Redeem a top-up card's code for the logged-in customer (throttled per customer and subscriber)."""
    done = voucher_services.redeem(request.actor, code=request.POST.get("code", ""), customer=request.customer,
                                   channel=voucher_services.Channel.PORTAL)
    messages.success(request, _("Your voucher was redeemed: %(amount)s credited.")
                     % {"amount": money(Money(done.entry.amount_minor, done.entry.currency))})
    return redirect(safe_next(request, request.POST.get("next"), reverse("selfcare:home")))


@subscriber_page
def payments(request):
    c = request.customer
    entries = ledger_selectors.entries_of(c).filter(kind__in=[EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.CREDIT])
    return _show(request, "payments.html", "payments", customer=c,
                 entries=list(entries.order_by("-created_at", "-id")[:PAGE]))


@subscriber_page
def usage(request):
    c = request.customer
    return _show(request, "usage.html", "usage", customer=c,
                 xdrs=list(rating_selectors.xdrs_of_customer(c.pk)[:PAGE]),
                 purchases=list(ppv_selectors.purchases(customer_id=c.pk)[:PAGE]))


def _packages_of(product_ids) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for pp in ProductPackage.objects.filter(product_id__in=product_ids).select_related("package").order_by("package__name"):
        names.setdefault(pp.product_id, []).append(pp.package.name)
    return names


def _accounts(customer) -> list[dict]:
    accounts = list(customer_selectors.accounts(customer_id=customer.pk).exclude(status=Status.CLOSED).order_by("id"))
    # One query for every account's current products (not one per account: a family has several).
    current: dict[int, list] = {a.pk: [] for a in accounts}
    for ap in customer_selectors.current_products_of_accounts(list(current)):
        current[ap.account_id].append(ap)
    packages = _packages_of({ap.product_id for aps in current.values() for ap in aps})
    holds = customer_selectors.open_vacation_holds_of_accounts(list(current))  # one query, like the products
    return [{"account": a, "products": [{"assignment": ap, "packages": packages.get(ap.product_id, [])}
                                        for ap in current[a.pk]],
             "holds": holds[a.pk]} for a in accounts]


def offers_for(customer):
    """Self-service add-on plans the customer may order (active, in its currency)."""
    return (SubscriptionPlan.objects.filter(status=CatalogStatus.ACTIVE, product__status=CatalogStatus.ACTIVE,
                                            product__kind=ProductKind.ADDON, product__self_service=True,
                                            product__currency=customer.currency)
            .select_related("product").order_by("product__name", "periodic_fee_minor"))


@subscriber_page
def services(request):
    c = request.customer
    accounts = _accounts(c)
    offers = list(offers_for(c))
    packages = _packages_of({p.product_id for p in offers})
    for row in accounts:
        have = {p["assignment"].product_id for p in row["products"]}
        row["offers"] = [{"plan": p, "packages": packages.get(p.product_id, [])} for p in offers if p.product_id not in have]
        for p in row["products"]:
            a = p["assignment"]
            p["removable"] = a.role == AssignmentRole.ADDON and a.product.self_service and a.end_date is None
    return _show(request, "services.html", "services", customer=c, accounts=accounts,
                 active=c.status == Status.ACTIVE)


def _own_account(request, account_id: int):
    account = customer_selectors.account(account_id)
    if account.customer_id != request.customer.pk or account.status == Status.CLOSED:
        raise NotFound("no such account")
    return account


def _offer(request, plan_id: int) -> SubscriptionPlan:
    plan = offers_for(request.customer).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("no such offer")
    return plan


@subscriber_page
def addon_confirm(request, account_id: int, plan_id: int):
    account, plan = _own_account(request, account_id), _offer(request, plan_id)
    quote = quote_addon(request.customer, plan)
    short = quote.due_now - quote.available if not quote.covered else None
    return _show(request, "addon_confirm.html", "services", account=account, plan=plan, quote=quote, short=short,
                 packages=_packages_of([plan.product_id]).get(plan.product_id, []))


@subscriber_action
def addon_add(request, account_id: int, plan_id: int):
    account, plan = _own_account(request, account_id), _offer(request, plan_id)
    add_addon_and_charge(request.actor, account, plan)
    messages.success(request, _("%(name)s was added. It reaches your TV within a minute.") % {"name": plan.product.name})
    return redirect("selfcare:services")


def _own_addon(request, account_id: int, assignment_id: int) -> tuple:
    account = _own_account(request, account_id)
    assignment = (AccountProduct.objects.select_related("product", "plan")
                  .filter(pk=assignment_id, account=account, role=AssignmentRole.ADDON, end_date__isnull=True,
                          product__self_service=True).first())
    if assignment is None:
        raise NotFound("no such add-on")
    return account, assignment


@subscriber_page
def addon_remove_confirm(request, account_id: int, assignment_id: int):
    account, assignment = _own_addon(request, account_id, assignment_id)
    return _show(request, "addon_remove.html", "services", account=account, assignment=assignment,
                 today=clock.today())


@subscriber_action
def addon_remove(request, account_id: int, assignment_id: int):
    account, assignment = _own_addon(request, account_id, assignment_id)
    remove_addon(request.actor, account, assignment.pk, reason="removed by the subscriber")
    messages.success(request, _("%(name)s was removed.") % {"name": assignment.product.name})
    return redirect("selfcare:services")


# -- pay-per-view --------------------------------------------------------------------------------------


@subscriber_page
def ppv_events(request):
    """The events on sale on the platforms of the customer's accounts; those of platforms that cannot be
    told about a purchase made here are named apart (bought on the TV only)."""
    c = request.customer
    offered = ppv_selectors.portal_events(c)
    tv_only = sorted({o.event.platform.name for o in offered if not o.grantable})
    return _show(request, "ppv.html", "ppv", customer=c, offers=[o for o in offered if o.grantable], tv_only=tv_only,
                 active=c.status == Status.ACTIVE)


def _own_event(request, account_id: int, event_id: int):
    account = _own_account(request, account_id)
    found = [o for o in ppv_selectors.portal_events(request.customer, account_id=account.pk, event_id=event_id)
             if o.grantable]
    if not found:
        raise NotFound("no such event")
    return account, found[0].event


@subscriber_page
def ppv_confirm(request, account_id: int, event_id: int):
    account, event = _own_event(request, account_id, event_id)
    funds = ledger_selectors.funds_of(request.customer)
    price = Money(event.price_minor, event.currency)
    covered = funds.available >= price
    return _show(request, "ppv_confirm.html", "ppv", account=account, event=event, price=price, funds=funds,
                 covered=covered, short=None if covered else price - funds.available,
                 purchase_key=uuid.uuid4().hex)


@subscriber_action
def ppv_buy(request, account_id: int, event_id: int):
    account, event = _own_event(request, account_id, event_id)
    answer = ppv_services.buy_in_portal(request.actor, account, event,
                                        purchase_key=request.POST.get("purchase_key", "")[:100])
    if answer.get("result") == "confirmed":
        messages.success(request, _("You bought %(title)s for %(amount)s. It reaches your TV within a minute.")
                         % {"title": event.title, "amount": money(Money(answer["amount_minor"], answer["currency"]))})
        return redirect("selfcare:usage")
    messages.error(request, _ppv_refusal(answer))
    return redirect("selfcare:ppv_events")


def _ppv_refusal(answer: dict) -> str:
    code = answer.get("code")
    if code == "insufficient_funds":
        return _("Your available funds do not cover this. Top up and try again.")
    if code == "ppv_disabled":
        return _("This account has no pay-per-view service. Add it first, or ask us.")
    if code in ("customer_suspended", "customer_blocked", "account_suspended", "account_blocked"):
        return _("Your account cannot buy right now. Please contact us.")
    if code == "event_not_available":
        return _("This event is no longer on sale.")
    return _("The purchase was refused (%(code)s).") % {"code": code}


# -- vacation holds: the subscriber pauses an account (docs/selfcare.md, D151) -------------------------


def _open_holds(account) -> list:
    return [h for h in customer_selectors.vacation_holds(account) if h.status in (HoldStatus.SCHEDULED, HoldStatus.ACTIVE)]


@subscriber_action
def hold_schedule(request, account_id: int):
    account = _own_account(request, account_id)
    hold = schedule_hold(request.actor, account, start_date=request.POST.get("start_date", ""),
                         end_date=request.POST.get("end_date", ""), reason="paused by the subscriber")
    messages.success(request, _("Your service pauses on %(start)s and resumes on %(end)s.")
                     % {"start": hold.start_date.isoformat(), "end": hold.end_date.isoformat()})
    return redirect("selfcare:services")


@subscriber_action
def hold_cancel(request, account_id: int, hold_id: int):
    account = _own_account(request, account_id)
    hold = next((h for h in _open_holds(account) if h.pk == hold_id), None)
    if hold is None:
        raise NotFound("no such hold")
    cancel_hold(request.actor, hold, reason="cancelled by the subscriber")
    messages.success(request, _("The pause was cancelled."))
    return redirect("selfcare:services")


@subscriber_page
def settings_page(request):
    return _show(request, "settings.html", "settings", login=request.subscriber,
                 session_minutes=settings.TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS // 60)


@subscriber_action
def change_password(request):
    if request.POST.get("new_password", "") != request.POST.get("new_password2", ""):
        messages.error(request, _("The two passwords differ."))
        return redirect("selfcare:settings")
    access.change_password(request.subscriber, current=request.POST.get("current_password", ""),
                           new=request.POST.get("new_password", ""), keep_session=request.COOKIES.get(COOKIE))
    messages.success(request, _("Your password was changed."))
    return redirect("selfcare:settings")

