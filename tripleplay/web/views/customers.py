"""Customers: list, sign-up wizard, the customer page with its tabs, and every customer action.
Handlers translate form fields and call services; the rules are the services' (and the roles the
API's: tripleplay.web.access)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from tripleplay.audit.models import AuditEvent
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.catalog.models import BillingPeriod, CatalogStatus, ProductKind
from tripleplay.core.errors import DomainError, InvalidInput
from tripleplay.customers import selectors, services
from tripleplay.customers.blocking import operator_choices
from tripleplay.customers.models import TRANSITIONS, Account, BalanceModel, Status
from tripleplay.iptv import provisioning
from tripleplay.iptv import selectors as iptv_selectors
from tripleplay.iptv.models import ProductPackage, Subscriber
from tripleplay.ledger import selectors as ledger_selectors
from tripleplay.ledger import services as ledger_services
from tripleplay.money import AmountFormatError, CurrencyError, Money
from tripleplay.ppv import selectors as ppv_selectors
from tripleplay.ppv import services as ppv_services
from tripleplay.web import services as web_services
from tripleplay.web.access import OPERATIONS, action, page
from tripleplay.web.views.common import clean, paginate, show

TABS = [("accounts", "Accounts and services"), ("balance", "Balance and transactions"), ("invoices", "Invoices"),
        ("iptv", "IPTV"), ("internet", "Internet"), ("voice", "Voice"),
        ("ppv", "PPV purchases"), ("status", "Status changes"), ("portal", "Portal access"),
        ("audit", "Audit history")]


def customer_url(customer_id: int, tab: str = "accounts") -> str:
    return reverse("web:customer", args=[customer_id]) + f"?tab={tab}"


@page()
def customer_list(request):
    status = request.GET.get("status") or None
    if status not in {s.value for s in Status}:
        status = None
    balance_model = request.GET.get("balance_model") or None
    search = (request.GET.get("q") or "").strip() or None
    qs = selectors.customers(status=status, search=search)
    if balance_model in {b.value for b in BalanceModel}:
        qs = qs.filter(balance_model=balance_model)
    return show(request, "customers/list.html", "customers", customers=paginate(request, qs.order_by("-id")),
                statuses=list(Status), balance_models=list(BalanceModel), filters=request.GET)


# -- sign-up wizard -------------------------------------------------------------------------------------------


def _signup_choices():
    plans = catalog_selectors.plans(status=CatalogStatus.ACTIVE).filter(product__status=CatalogStatus.ACTIVE)
    mains = plans.filter(product__kind=ProductKind.MAIN).order_by("product__code", "code")
    addons = list(plans.filter(product__kind=ProductKind.ADDON).order_by("product__code", "code"))
    packages: dict[int, list[str]] = {}
    for link in ProductPackage.objects.select_related("package__platform"):
        packages.setdefault(link.product_id, []).append(f"{link.package.name} ({link.package.platform.code})")
    for plan in addons:
        plan.packages = packages.get(plan.product_id, [])
    iptv_mains = [p for p in mains if "iptv" in p.product.service_types]
    other_mains = [p for p in mains if "iptv" not in p.product.service_types]
    return {"iptv_mains": iptv_mains, "other_mains": other_mains, "addons": addons}


def _plan(value: str | None):
    return catalog_selectors.plan(int(value)) if value and value.isdigit() else None


def _signup_request(post) -> tuple[dict, list[web_services.AccountRequest]]:
    fields = {"name": post.get("name", ""), "email": post.get("email", ""), "phone": post.get("phone", ""),
              "address_line1": post.get("address_line1", ""), "city": post.get("city", ""),
              "postal_code": post.get("postal_code", ""), "country": post.get("country", "").upper(),
              "currency": (post.get("currency") or "").upper(), "balance_model": post.get("balance_model", ""),
              "billing_period": post.get("billing_period") or BillingPeriod.MONTHLY}
    if fields["balance_model"] == BalanceModel.POSTPAID and post.get("credit_limit"):
        try:
            fields["credit_limit_minor"] = Money.parse(post["credit_limit"], fields["currency"] or "USD").minor
        except (AmountFormatError, CurrencyError) as e:
            raise InvalidInput(f"credit limit: {e}") from None
    accounts = []
    tv_plan = _plan(post.get("tv_plan"))
    if tv_plan:
        login, device = clean(post.get("tv_login")), clean(post.get("tv_device_id"))
        if not login and not device:
            raise InvalidInput("the IPTV account needs a login or a device id (set-top box serial or MAC)")
        addons = [_plan(v) for v in post.getlist("addon_plans")]
        accounts.append(web_services.AccountRequest(tv_plan, [a for a in addons if a], login=login, device_id=device))
    other_plan = _plan(post.get("other_plan"))
    if other_plan:
        accounts.append(web_services.AccountRequest(other_plan, login=clean(post.get("other_login")),
                                                    phone_number=clean(post.get("other_phone"))))
    if not accounts:
        raise InvalidInput("choose at least one service: an IPTV product or another service")
    return fields, accounts


def _signup_form(request, error: str = "", status: int = 200):
    return render(request, "web/customers/signup.html",
                  {"section": "customers", "values": request.POST, "error": error, "balance_models": list(BalanceModel),
                   "periods": list(BillingPeriod), "chosen_addons": request.POST.getlist("addon_plans"),
                   **_signup_choices()},
                  status=status)


@page(*OPERATIONS)
def signup(request):
    return _signup_form(request)


@action(*OPERATIONS)
def signup_submit(request):
    try:
        fields, accounts = _signup_request(request.POST)
        customer = web_services.sign_up(request.actor, fields, accounts, coupon_code=request.POST.get("coupon_code"))
    except DomainError as e:  # the form again, with what was typed and what is wrong
        return _signup_form(request, e.message, status=422)
    messages.success(request, f"Customer {customer.name} signed up.")
    return redirect("web:signup_done", customer.pk)


@page()
def signup_done(request, customer_id: int):
    customer = selectors.customer(customer_id)
    subscribers = list(iptv_selectors.subscribers().filter(account__customer=customer).order_by("account_id",
                                                                                                 "platform__code"))
    settled = all(s.status in ("ok", "failed") and s.pending_command_id is None for s in subscribers)
    return show(request, "customers/signup_done.html", "customers", customer=customer, subscribers=subscribers,
                settled=settled, accounts=list(customer.accounts.order_by("id")))


# -- customer page --------------------------------------------------------------------------------------------


def _accounts_tab(customer):
    accounts = list(customer.accounts.order_by("id"))
    addons = list(catalog_selectors.plans(status=CatalogStatus.ACTIVE).filter(
        product__kind=ProductKind.ADDON, product__status=CatalogStatus.ACTIVE, product__currency=customer.currency)
        .order_by("product__code", "code"))
    packages: dict[int, list] = {}
    for link in ProductPackage.objects.select_related("package__platform"):
        packages.setdefault(link.product_id, []).append(link.package)
    for account in accounts:
        account.current = list(selectors.current_products(account))
        for a in account.current:
            a.packages = packages.get(a.product_id, [])
        held = {a.plan_id for a in account.current}
        account.addable = [p for p in addons if p.pk not in held]
        account.next_statuses = sorted(TRANSITIONS[account.status])
        account.holds_shown = list(selectors.vacation_holds(account)[:10])  # web/views/vacation.py
    mains = list(catalog_selectors.plans(status=CatalogStatus.ACTIVE).filter(
        product__kind=ProductKind.MAIN, product__status=CatalogStatus.ACTIVE, product__currency=customer.currency)
        .order_by("product__code", "code"))
    return {"accounts": accounts, "main_plans": mains, "addon_plans": addons}


def _balance_tab(customer):
    return {"entries": list(ledger_selectors.entries_of(customer).order_by("-id")[:100]),
            "holds": list(ledger_selectors.holds_of(customer, status="active").order_by("-id")),
            "payment_methods": ledger_services.PAYMENT_METHODS}


def _iptv_tab(customer):
    subscribers = list(iptv_selectors.subscribers().filter(account__customer=customer).order_by("account_id",
                                                                                                 "platform__code"))
    for s in subscribers:
        s.history = list(iptv_selectors.commands(subscriber_id=s.pk).order_by("-id")[:20])
    return {"subscribers": subscribers}


def _internet_tab(customer):
    from tripleplay.radius import selectors as radius_selectors

    return radius_selectors.customer_internet(customer.pk)


def _voice_tab(customer):
    from tripleplay.sessions import selectors as sessions_selectors

    calls = list(sessions_selectors.calls(customer=customer))
    return {"active_calls": [c for c in calls if c.status == "active"], "calls": calls,
            "voice_seconds": sum(c.used_wire for c in calls), "voice_charged": sum(c.charged_minor for c in calls)}


def _ppv_tab(customer):
    return {"purchases": list(ppv_selectors.purchases(customer_id=customer.pk).order_by("-id")[:100])}


def _status_tab(customer):
    holds = list(selectors.current_blocks(customer))
    return {"history": list(selectors.customer_status_history(customer).order_by("-at", "-id")),
            "holds": holds,
            "next_statuses": operator_choices(customer.status, holds),
            "account_history": [(a, list(selectors.account_status_history(a).order_by("-at", "-id")))
                                for a in customer.accounts.order_by("id")]}


def _ids(queryset):
    """A subquery of the rows' ids as text (AuditEvent.object_id is text)."""
    return queryset.annotate(text_id=Cast("id", CharField())).values("text_id")


def _audit_tab(customer):
    """Everything recorded about the customer, its accounts, money, holds, IPTV subscribers and invoices."""
    from tripleplay.invoicing.models import Invoice
    from tripleplay.ledger.models import Hold, LedgerEntry

    about = (Q(object_type="customer", object_id=str(customer.pk))
             | Q(object_type="account", object_id__in=_ids(Account.objects.filter(customer=customer)))
             | Q(object_type="ledgerentry", object_id__in=_ids(LedgerEntry.objects.filter(customer=customer)))
             | Q(object_type="hold", object_id__in=_ids(Hold.objects.filter(customer=customer)))
             | Q(object_type="subscriber", object_id__in=_ids(Subscriber.objects.filter(account__customer=customer)))
             | Q(object_type="invoice", object_id__in=_ids(Invoice.objects.filter(customer=customer))))
    return {"events": list(AuditEvent.objects.filter(about).order_by("-at", "-id")[:200])}


def _invoices_tab(customer):
    from tripleplay.collections.models import CollectionAction
    from tripleplay.invoicing import selectors as invoicing_selectors

    return {"invoices": list(invoicing_selectors.invoices(customer.pk).select_related("credit_note_for")[:100]),
            "collection_actions": list(CollectionAction.objects.filter(customer=customer).select_related("invoice")
                                       .order_by("-at", "-id")[:50])}


def _portal_tab(customer):
    from tripleplay.subscriber_access import selectors as access_selectors

    login = access_selectors.portal_access(customer)
    return {"portal_login": login, "portal_sessions": access_selectors.open_sessions(login) if login else 0}


TAB_DATA = {"accounts": _accounts_tab, "balance": _balance_tab, "invoices": _invoices_tab, "iptv": _iptv_tab,
            "internet": _internet_tab, "voice": _voice_tab,
            "ppv": _ppv_tab, "status": _status_tab, "portal": _portal_tab, "audit": _audit_tab}


@page()
def customer_detail(request, customer_id: int):
    customer = selectors.customer(customer_id)
    tab = request.GET.get("tab") if request.GET.get("tab") in TAB_DATA else "accounts"
    return show(request, "customers/detail.html", "customers", customer=customer, tabs=TABS, tab=tab,
                funds=ledger_selectors.funds_of(customer), here=customer_url(customer.pk, tab),
                **TAB_DATA[tab](customer))


@page(*OPERATIONS)
def customer_edit(request, customer_id: int):
    customer = selectors.customer(customer_id)
    return show(request, "customers/edit.html", "customers", customer=customer, balance_models=list(BalanceModel),
                credit_limit=ledger_selectors.funds_of(customer).credit_limit)


# -- actions --------------------------------------------------------------------------------------------------


CONTACT_FIELDS = ("name", "email", "phone", "address_line1", "address_line2", "city", "postal_code", "country")


@action(*OPERATIONS)
def customer_update(request, customer_id: int):
    customer = selectors.customer(customer_id)
    p = request.POST
    changes = {f: p.get(f, "").strip() for f in CONTACT_FIELDS if f in p}
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    if p.get("tax_rate", "").strip():
        changes["tax_rate"] = p["tax_rate"].strip()
    if p.get("bill_cycle_day", "").strip():
        if not p["bill_cycle_day"].strip().isdigit():
            raise InvalidInput("bill cycle day must be a whole number")
        changes["bill_cycle_day"] = int(p["bill_cycle_day"])
    if p.get("balance_model"):
        changes["balance_model"] = p["balance_model"]
        if p["balance_model"] == BalanceModel.POSTPAID and p.get("credit_limit", "").strip():
            changes["credit_limit_minor"] = Money.parse(p["credit_limit"], customer.currency).minor
    services.update_customer(request.actor, customer, **changes)
    messages.success(request, "Customer details saved.")
    return redirect(customer_url(customer.pk))


@action(*OPERATIONS)
def customer_status(request, customer_id: int):
    customer = services.change_customer_status(request.actor, selectors.customer(customer_id),
                                               request.POST.get("status", ""), reason=request.POST.get("reason", ""))
    messages.success(request, f"Customer is now {customer.status}.")
    return redirect(customer_url(customer.pk, "status"))


@action(*OPERATIONS)
def portal_invite(request, customer_id: int):
    """E-mail the customer a link that sets its portal password (docs/selfcare.md)."""
    from tripleplay.subscriber_access import services as access

    customer = selectors.customer(customer_id)
    access.invite(request.actor, customer)
    messages.success(request, f"Invitation e-mailed to {customer.email}. The link works once, for "
                              f"{settings.TRIPLEPLAY_PORTAL_INVITE_HOURS} hours.")
    return redirect(customer_url(customer.pk, "portal"))


@action(*OPERATIONS)
def portal_disable(request, customer_id: int):
    from tripleplay.subscriber_access import services as access

    customer = selectors.customer(customer_id)
    access.disable(request.actor, customer, reason=request.POST.get("reason", ""))
    messages.success(request, "Portal access disabled: the customer's sessions ended and its links stopped working.")
    return redirect(customer_url(customer.pk, "portal"))


@action(*OPERATIONS)
def account_status(request, account_id: int):
    account = services.change_account_status(request.actor, selectors.account(account_id),
                                             request.POST.get("status", ""), reason=request.POST.get("reason", ""))
    messages.success(request, f"Account {account.pk} is now {account.status}.")
    return redirect(customer_url(account.customer_id))


@action(*OPERATIONS)
def account_update(request, account_id: int):
    """Login, device id and phone number; a change is provisioned to the account's platforms (D50)."""
    account = selectors.account(account_id)
    changes = {f: clean(request.POST.get(f)) for f in ("login", "device_id", "phone_number")
               if clean(request.POST.get(f)) != getattr(account, f)}
    if not changes:
        messages.info(request, f"Account {account.pk}: nothing changed.")
        return redirect(customer_url(account.customer_id))
    account = services.update_account(request.actor, account, **changes)
    messages.success(request, f"Account {account.pk} updated ({', '.join(sorted(changes))}); "
                              "the platforms get the new details from the provisioning queue.")
    return redirect(customer_url(account.customer_id))


@action(*OPERATIONS)
def account_create(request, customer_id: int):
    customer = selectors.customer(customer_id)
    plan = _plan(request.POST.get("main_plan"))
    if plan is None:
        raise InvalidInput("choose the account's main product")
    addons = [p for p in (_plan(v) for v in request.POST.getlist("addon_plans")) if p]
    account = services.create_account(request.actor, customer, main_plan=plan, addon_plans=addons,
                                      login=clean(request.POST.get("login")),
                                      device_id=clean(request.POST.get("device_id")),
                                      phone_number=clean(request.POST.get("phone_number")))
    messages.success(request, f"Account {account.pk} created with {plan.product.name}.")
    return redirect(customer_url(customer.pk))


@action(*OPERATIONS)
def main_product(request, account_id: int):
    account = selectors.account(account_id)
    plan = _plan(request.POST.get("plan_id"))
    if plan is None:
        raise InvalidInput("choose the new main product")
    services.change_main_product(request.actor, account, plan)
    messages.success(request, f"Account {account.pk} now has {plan.product.name} ({plan.name}).")
    return redirect(customer_url(account.customer_id))


@action(*OPERATIONS)
def add_addon(request, account_id: int):
    account = selectors.account(account_id)
    plan = _plan(request.POST.get("plan_id"))
    if plan is None:
        raise InvalidInput("choose an add-on to add")
    services.add_addon(request.actor, account, plan)
    messages.success(request, f"{plan.product.name} added to account {account.pk}.")
    return redirect(customer_url(account.customer_id))


@action(*OPERATIONS)
def remove_addon(request, account_id: int, assignment_id: int):
    account = selectors.account(account_id)
    ended = services.remove_addon(request.actor, account, assignment_id)
    messages.success(request, f"{ended.product.name} removed from account {account.pk}.")
    return redirect(customer_url(account.customer_id))


MONEY_KINDS = {"payment": "Post a payment", "credit": "Post a credit"}


@action(*OPERATIONS)
def money(request, customer_id: int, kind: str):
    """Two steps: the form posts here without ``confirm`` and sees what will be written; the
    confirmation posts the same fields with ``confirm`` and a key made at the first step, so a
    double click or a resubmitted page writes one entry (the ledger's idempotency)."""
    if kind not in MONEY_KINDS:
        raise InvalidInput(f"unknown money action {kind!r}")
    customer = selectors.customer(customer_id)
    amount = Money.parse(request.POST.get("amount", ""), customer.currency)
    if amount.minor <= 0:
        raise InvalidInput("the amount must be greater than zero")
    method = request.POST.get("method") or "manual"
    reference, reason = request.POST.get("reference", "").strip(), request.POST.get("reason", "").strip()
    if kind == "credit" and not reason:
        raise InvalidInput("a credit needs a reason")
    if kind == "payment" and method not in ledger_services.PAYMENT_METHODS:
        raise InvalidInput(f"method must be one of {', '.join(ledger_services.PAYMENT_METHODS)}")
    key = request.POST.get("key") or ""
    if not request.POST.get("confirm") or not key:
        return show(request, "customers/money_confirm.html", "customers", customer=customer, kind=kind,
                    title=MONEY_KINDS[kind], amount=amount, method=method, reference=reference, reason=reason,
                    key=uuid.uuid4().hex, funds=ledger_selectors.funds_of(customer))
    idempotency_key = f"web-{kind}-{key}"
    if kind == "payment":
        entry = ledger_services.record_payment(request.actor, customer, amount, idempotency_key=idempotency_key,
                                               method=method, reference=reference)
    else:
        entry = ledger_services.post_credit(request.actor, customer, amount, reason=reason,
                                            idempotency_key=idempotency_key)
    messages.success(request, f"{kind.capitalize()} of {amount.format()} recorded (entry {entry.pk}); "
                              f"balance {Money(entry.balance_after_minor, entry.currency).format()}.")
    return redirect(customer_url(customer.pk, "balance"))


@action(*OPERATIONS)
def subscriber_retry(request, subscriber_id: int):
    sub = provisioning.retry_subscriber(request.actor, iptv_selectors.subscriber(subscriber_id))
    messages.success(request, f"Provisioning on {sub.platform.code} will be retried now.")
    return redirect(_after_subscriber(request, sub))


@action(*OPERATIONS)
def subscriber_cancel(request, subscriber_id: int):
    sub = provisioning.cancel_subscriber_commands(request.actor, iptv_selectors.subscriber(subscriber_id))
    messages.success(request, f"Pending provisioning on {sub.platform.code} cancelled.")
    return redirect(_after_subscriber(request, sub))


def _after_subscriber(request, sub: Subscriber) -> str:
    from tripleplay.web.access import back

    return back(request, customer_url(Subscriber.objects.get(pk=sub.pk).account.customer_id, "iptv"))


@action(*OPERATIONS)
def ppv_refund(request, purchase_id: int):
    purchase = ppv_services.refund(request.actor, ppv_selectors.purchase(purchase_id),
                                   reason=request.POST.get("reason", "").strip())
    messages.success(request, f"Purchase {purchase.pk} refunded.")
    return redirect(customer_url(purchase.customer_id, "ppv"))


# -- invoices (issue 6) ---------------------------------------------------------------------------------------


@page()
def invoice_pdf(request, invoice_id: int):
    """The stored PDF (rendered on first use, checked against its hash), as the API serves it."""
    from tripleplay.invoicing import documents
    from tripleplay.invoicing import selectors as invoicing_selectors

    invoice = invoicing_selectors.get_invoice(invoice_id)
    try:
        data = documents.pdf_bytes(invoice)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect(customer_url(invoice.customer_id, "invoices"))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number_text}.pdf"'
    return response


@page()
def invoice_csv(request, invoice_id: int):
    from tripleplay.invoicing import documents
    from tripleplay.invoicing import selectors as invoicing_selectors

    invoice = invoicing_selectors.get_invoice(invoice_id)
    response = HttpResponse(documents.lines_csv(invoice), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number_text}-lines.csv"'
    return response


@action(*OPERATIONS)
def invoice_issue(request, customer_id: int):
    from tripleplay.invoicing import services as invoicing_services

    invoice = invoicing_services.issue_out_of_turn(request.actor, selectors.customer(customer_id))
    messages.success(request, f"Invoice {invoice.number_text} issued.")
    return redirect(customer_url(customer_id, "invoices"))


@action(*OPERATIONS)
def invoice_void(request, invoice_id: int):
    from tripleplay.invoicing import selectors as invoicing_selectors
    from tripleplay.invoicing import services as invoicing_services

    invoice = invoicing_selectors.get_invoice(invoice_id)
    note = invoicing_services.void_invoice(request.actor, invoice, reason=request.POST.get("reason", ""))
    messages.success(request, f"Invoice {invoice.number_text} voided; credit note {note.number_text} issued.")
    return redirect(customer_url(invoice.customer_id, "invoices"))
