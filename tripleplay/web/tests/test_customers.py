"""What the customer pages do, with exact outcomes: the two-step payment and credit, status changes
reaching the provisioning queue, add-ons, the sign-up wizard (one transaction), provisioning
retry and cancel, PPV refunds, clear messages for refused input."""

from __future__ import annotations

import re

from tripleplay import clock
from tripleplay.customers.models import Account, Customer, CustomerStatusChange
from tripleplay.iptv.models import Subscriber
from tripleplay.iptv.tests.conftest import drain
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def follow_messages(client, response) -> str:
    assert response.status_code == 302, response.content[:2000]
    return client.get(response["Location"]).content.decode()


def test_a_payment_is_confirmed_before_it_is_written_and_written_once(world, login):
    client = login("finance")
    url = f"/customers/{world.customer.pk}/money/payment"
    first = client.post(url, {"amount": "12.50", "method": "cash", "reference": "R-1"})
    assert first.status_code == 200
    body = first.content.decode()
    assert "please confirm" in body and '<strong id="confirm-amount">$12.50</strong>' in body
    assert LedgerEntry.objects.filter(customer=world.customer, kind="payment").count() == 1  # the seed only
    key = re.search(r'name="key" value="([0-9a-f]{32})"', body).group(1)
    confirm = {"amount": "12.50", "method": "cash", "reference": "R-1", "key": key, "confirm": "1"}
    done = client.post(url, confirm)
    page = follow_messages(client, done)
    assert done["Location"] == f"/customers/{world.customer.pk}/?tab=balance"
    assert "Payment of $12.50 recorded" in page and "balance $62.50" in page
    again = client.post(url, confirm)  # a double click or a resubmitted page
    assert again.status_code == 302
    entries = LedgerEntry.objects.filter(customer=world.customer, kind="payment").order_by("id")
    assert [(e.amount_minor, e.reference, e.actor_name, e.idempotency_key) for e in entries] == [
        (5000, "", "test", "seed-ada"), (1250, "R-1", "web-finance", f"web-payment-{key}")]
    assert funds_of(world.customer).balance.minor == 6250


def test_a_credit_needs_a_reason_and_is_recorded_with_it(world, login):
    client = login("admin")
    url = f"/customers/{world.customer.pk}/money/credit"
    refused = client.post(url, {"amount": "3.00", "reason": " ", "next": f"/customers/{world.customer.pk}/?tab=balance"})
    assert "a credit needs a reason" in follow_messages(client, refused)
    client.post(url, {"amount": "3.00", "reason": "outage", "confirm": "1", "key": "c1"})
    credit = LedgerEntry.objects.get(customer=world.customer, kind="credit")
    assert (credit.amount_minor, credit.reason, credit.balance_after_minor) == (300, "outage", 5300)


def test_bad_amounts_are_explained_and_write_nothing(world, login):
    client = login("finance")
    url = f"/customers/{world.customer.pk}/money/payment"
    nxt = f"/customers/{world.customer.pk}/?tab=balance"
    for amount, message in (("12.505", "has more than 2 decimals"), ("ten", "is not a decimal amount"),
                            ("0", "must be greater than zero"), ("-5", "must be greater than zero")):
        response = client.post(url, {"amount": amount, "confirm": "1", "key": "k", "next": nxt})
        assert response["Location"] == nxt
        assert message in client.get(nxt).content.decode(), amount
    assert LedgerEntry.objects.filter(customer=world.customer).count() == 1


def test_suspending_a_customer_disables_it_on_the_platform(world, login, ministra):
    client = login("finance")
    response = client.post(f"/customers/{world.customer.pk}/status", {"status": "suspended", "reason": "moved away"})
    assert "Customer is now suspended." in follow_messages(client, response)
    world.customer.refresh_from_db()
    assert (world.customer.status, world.customer.status_reason) == ("suspended", "moved away")
    change = CustomerStatusChange.objects.filter(customer=world.customer).latest("id")
    assert (change.from_status, change.to_status, change.actor_name) == ("active", "suspended", "web-finance")
    sub = Subscriber.objects.get(pk=world.subscriber.pk)
    assert (sub.desired_enabled, sub.pending_command.event) == (False, "Customer/Status/Suspend")
    drain()
    assert ministra.subscribers()[sub.external_id]["enabled"] is False
    iptv = client.get(f"/customers/{world.customer.pk}/?tab=iptv").content.decode()
    assert "Customer/Status/Suspend" in iptv and "disabled, packages basic, sports" in iptv
    audit = client.get(f"/customers/{world.customer.pk}/?tab=audit").content.decode()
    assert "web-finance" in audit and "customer.status_changed" in audit


def test_the_status_tab_lists_the_holds_and_offers_only_what_an_operator_may_lift(world, login):
    from tripleplay.core.actors import Actor
    from tripleplay.customers.services import set_block

    set_block(Actor.system("charge-job"), world.customer, "funds", "suspend", reason="insufficient funds")
    client = login("finance")
    page = client.get(f"/customers/{world.customer.pk}/?tab=status").content.decode()
    options = re.findall(r'<option value="(\w+)">', page.split('id="new-status"')[1].split("</select>")[0])
    assert options == ["blocked", "closed"]  # prepaid funds are lifted by a payment, not by "active"
    assert "<td>Funds</td><td>suspend</td>" in page and "insufficient funds" in page
    client.post(f"/customers/{world.customer.pk}/status", {"status": "blocked", "reason": "fraud"})
    page = client.get(f"/customers/{world.customer.pk}/?tab=status").content.decode()
    options = re.findall(r'<option value="(\w+)">', page.split('id="new-status"')[1].split("</select>")[0])
    assert options == ["active", "closed"]  # the operator's own block can be lifted
    assert "<td>Operator</td><td>block</td>" in page and "<td>Funds</td><td>suspend</td>" in page


def test_a_refused_status_change_says_why(world, login):
    client = login("finance")
    client.post(f"/customers/{world.customer.pk}/status", {"status": "closed", "reason": "gone"})
    response = client.post(f"/customers/{world.customer.pk}/status", {"status": "active", "reason": "back"})
    page = follow_messages(client, response)
    assert "closed" in page and 'class="error"' in page
    world.customer.refresh_from_db()
    assert world.customer.status == "closed"


def test_adding_and_removing_a_channel_package(world, login, ministra):
    client = login("finance")
    added = client.post(f"/accounts/{world.account.pk}/addons", {"plan_id": world.cat.movies_plan.pk})
    assert "Movies Pack added to account" in follow_messages(client, added)
    sports = world.account.products.get(plan=world.cat.sports_plan, end_date__isnull=True)
    removed = client.post(f"/accounts/{world.account.pk}/addons/{sports.pk}/remove")
    assert "removed from account" in follow_messages(client, removed)
    current = sorted(world.account.products.filter(end_date__isnull=True).values_list("plan__code", flat=True))
    assert current == ["movies-monthly", "tv-monthly"]
    drain()
    assert sorted(ministra.subscribers()[world.subscriber.external_id]["packages"]) == ["basic", "movies"]


def test_sign_up_creates_the_customer_and_its_accounts_and_shows_provisioning(world, login, ministra):
    client = login("finance")
    response = client.post("/customers/new/submit", {
        "name": "Grace Hopper", "email": "grace@example.net", "currency": "USD", "balance_model": "postpaid",
        "credit_limit": "50.00", "tv_plan": world.cat.tv_plan.pk, "tv_device_id": "00:1A:79:00:00:01",
        "addon_plans": [world.cat.sports_plan.pk, world.cat.kids_plan.pk],
        "other_plan": world.cat.internet_plan.pk, "other_login": "grace-net"})
    grace = Customer.objects.get(name="Grace Hopper")
    assert response["Location"] == f"/customers/{grace.pk}/provisioning/"
    assert (grace.balance_model, funds_of(grace).credit_limit.minor) == ("postpaid", 5000)
    accounts = list(grace.accounts.order_by("id"))
    assert [(a.device_id, a.login) for a in accounts] == [("00:1A:79:00:00:01", None), (None, "grace-net")]
    assert sorted(accounts[0].products.values_list("plan__code", flat=True)) == ["kids-monthly", "sports-monthly",
                                                                                  "tv-monthly"]
    waiting = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and "in progress" in waiting
    drain()
    done = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in done and "Provisioning has finished." in done
    sub = Subscriber.objects.get(account=accounts[0])
    assert sub.status == "ok"
    assert sorted(ministra.subscribers()[sub.external_id]["packages"]) == ["basic", "kids", "sports"]


def test_a_refused_sign_up_writes_nothing_and_keeps_the_form(world, login):
    client = login("finance")
    customers, accounts = Customer.objects.count(), Account.objects.count()
    response = client.post("/customers/new/submit", {"name": "Copy", "currency": "USD", "balance_model": "prepaid",
                                                     "tv_plan": world.cat.tv_plan.pk, "tv_login": "ada"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "ada" in body and 'value="Copy"' in body and 'class="error"' in body
    assert (Customer.objects.count(), Account.objects.count()) == (customers, accounts)  # no half sign-up
    empty = client.post("/customers/new/submit", {"name": "Nothing", "currency": "USD", "balance_model": "prepaid"})
    assert empty.status_code == 422 and b"choose at least one service" in empty.content
    no_id = client.post("/customers/new/submit", {"name": "No id", "currency": "USD", "balance_model": "prepaid",
                                                  "tv_plan": world.cat.tv_plan.pk})
    assert no_id.status_code == 422 and b"needs a login or a device id" in no_id.content
    assert Customer.objects.count() == customers


def test_retry_and_cancel_provisioning(world, login, ministra):
    client = login("finance")
    nothing = client.post(f"/subscribers/{world.subscriber.pk}/retry")
    assert "has nothing to retry" in follow_messages(client, nothing)
    ministra.set_faults(error_rate=1.0)
    client.post(f"/accounts/{world.account.pk}/addons", {"plan_id": world.cat.kids_plan.pk})
    cancelled = client.post(f"/subscribers/{world.subscriber.pk}/cancel")
    assert "Pending provisioning on ministra cancelled." in follow_messages(client, cancelled)
    sub = Subscriber.objects.get(pk=world.subscriber.pk)
    assert (sub.status, sub.pending_command_id) == ("failed", None)
    ministra.set_faults()
    retried = client.post(f"/subscribers/{world.subscriber.pk}/retry")
    assert "will be retried now" in follow_messages(client, retried)
    drain()
    sub.refresh_from_db()
    assert sub.status == "ok"
    assert sorted(ministra.subscribers()[sub.external_id]["packages"]) == ["basic", "kids", "sports"]


def test_a_ppv_purchase_is_listed_and_refunded(world, login, actor):
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.customers.services import add_addon
    from tripleplay.ppv import services as ppv

    product = create_product(actor, code="ppv", name="PPV", kind="addon", currency="USD", services=["ppv"])
    add_addon(actor, world.account, create_plan(actor, product, code="ppv-free", name="PPV", periodic_fee_minor=0))
    ppv.create_event(actor, world.platform, external_id="fight-night", title="Fight Night Live", price_minor=1999,
                     currency="USD", content_owner="Ringside Media")
    answer = ppv.purchase(world.platform, transaction_id="t-1", subscriber=world.subscriber.external_id,
                          event_id="fight-night")
    assert answer["result"] == "confirmed", answer
    client = login("finance")
    tab = client.get(f"/customers/{world.customer.pk}/?tab=ppv").content.decode()
    assert "Fight Night Live" in tab and "Ringside Media" in tab and "$19.99" in tab
    listed = client.get("/catalog/ppv-purchases/?status=confirmed").content.decode()
    assert "Fight Night Live" in listed and f'href="/customers/{world.customer.pk}/?tab=ppv"' in listed
    assert "No purchase matches." in client.get("/catalog/ppv-purchases/?status=declined").content.decode()
    dashboard = client.get("/").content.decode()
    assert f'<a href="/catalog/ppv-purchases/?day={clock.today().isoformat()}">1</a>' in dashboard
    from tripleplay.ppv.models import PpvPurchase

    purchase = PpvPurchase.objects.get(transaction_id="t-1")
    response = client.post(f"/ppv/purchases/{purchase.pk}/refund", {"reason": "stream broke"})
    assert f"Purchase {purchase.pk} refunded." in follow_messages(client, response)
    purchase.refresh_from_db()
    assert purchase.status == "refunded"
    assert funds_of(world.customer).balance.minor == 5000


def test_customer_list_search_and_filters(world, login, make_customer):
    make_customer(name="Zed Blocked")
    client = login("support")
    assert "Ada Lovelace" in client.get("/customers/?q=ada").content.decode()
    body = client.get("/customers/?q=zed").content.decode()
    assert "Zed Blocked" in body and "Ada Lovelace" not in body
    assert "No customer matches." in client.get("/customers/?status=closed").content.decode()
    assert "Ada Lovelace" in client.get("/customers/?balance_model=prepaid&status=active").content.decode()


def test_invoices_tab_issues_lists_and_voids(world, login):
    from tripleplay.invoicing.models import Invoice

    client = login("finance")
    issued = client.post(f"/customers/{world.customer.pk}/invoices/new")
    invoice = Invoice.objects.get(customer=world.customer)
    assert f"Invoice {invoice.number_text} issued." in follow_messages(client, issued)
    tab = client.get(f"/customers/{world.customer.pk}/?tab=invoices").content.decode()
    assert invoice.number_text in tab and f"/invoices/{invoice.pk}/pdf" in tab
    nxt = f"/customers/{world.customer.pk}/?tab=invoices"
    refused = client.post(f"/invoices/{invoice.pk}/void", {"reason": " ", "next": nxt})
    assert "a reason is required" in follow_messages(client, refused)
    voided = client.post(f"/invoices/{invoice.pk}/void", {"reason": "wrong address"})
    note = Invoice.objects.get(credit_note_for=invoice)
    assert f"credit note {note.number_text} issued" in follow_messages(client, voided)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == ("void", "wrong address")
    csv_lines = client.get(f"/invoices/{invoice.pk}/lines.csv")
    assert csv_lines.status_code == 200 and csv_lines.content.decode().startswith("invoice,position,section")


def test_a_new_account_and_a_main_product_change(world, login, actor):
    from tripleplay.catalog.services import create_plan

    client = login("finance")
    created = client.post(f"/customers/{world.customer.pk}/accounts/new",
                          {"main_plan": world.cat.tv_plan.pk, "device_id": "STB-2", "addon_plans": [world.cat.kids_plan.pk]})
    account = Account.objects.get(device_id="STB-2")
    assert f"Account {account.pk} created with TV." in follow_messages(client, created)
    assert sorted(account.products.values_list("plan__code", flat=True)) == ["kids-monthly", "tv-monthly"]
    assert Subscriber.objects.get(account=account).desired_packages == ["basic", "kids"]
    plus = create_plan(actor, world.cat.basic, code="tv-plus", name="TV plus", periodic_fee_minor=2500)
    changed = client.post(f"/accounts/{account.pk}/main-product", {"plan_id": plus.pk})
    assert f"Account {account.pk} now has TV (TV plus)." in follow_messages(client, changed)
    main = account.products.get(role="main", end_date__isnull=True)
    assert main.plan.code == "tv-plus"
    taken = client.post(f"/customers/{world.customer.pk}/accounts/new",
                        {"main_plan": world.cat.tv_plan.pk, "login": "ada", "next": f"/customers/{world.customer.pk}/"})
    assert "ada" in follow_messages(client, taken) and Account.objects.filter(customer=world.customer).count() == 2


def test_editing_a_customers_details(world, login):
    client = login("finance")
    form = client.get(f"/customers/{world.customer.pk}/edit/").content.decode()
    assert 'value="Ada Lovelace"' in form and 'value="0.00"' in form
    saved = client.post(f"/customers/{world.customer.pk}/update", {
        "name": "Ada King", "email": "ada@example.org", "city": "London", "country": "gb", "tax_rate": "20",
        "bill_cycle_day": "15", "balance_model": "postpaid", "credit_limit": "30.00"})
    assert "Customer details saved." in follow_messages(client, saved)
    c = Customer.objects.get(pk=world.customer.pk)
    assert (c.name, c.email, c.city, c.country, str(c.tax_rate), c.bill_cycle_day, c.balance_model) == (
        "Ada King", "ada@example.org", "London", "GB", "20.0000", 15, "postpaid")
    assert funds_of(c).credit_limit.minor == 3000
    nxt = f"/customers/{c.pk}/edit/"
    bad = client.post(f"/customers/{c.pk}/update", {"name": "Ada King", "tax_rate": "120", "next": nxt})
    assert bad["Location"] == nxt and "tax_rate" in client.get(nxt).content.decode()
    assert str(Customer.objects.get(pk=c.pk).tax_rate) == "20.0000"


def test_the_audit_tab_shows_who_did_what_to_the_customer_and_its_money(world, login, make_customer):
    other = make_customer(name="Someone else")
    client = login("finance")
    client.post(f"/customers/{world.customer.pk}/money/payment", {"amount": "1.00", "confirm": "1", "key": "a1"})
    client.post(f"/customers/{other.pk}/money/payment", {"amount": "2.00", "confirm": "1", "key": "a2"})
    client.post(f"/subscribers/{world.subscriber.pk}/retry")  # refused: nothing to retry, nothing recorded
    client.post(f"/customers/{world.customer.pk}/status", {"status": "blocked", "reason": "fraud"})
    body = client.get(f"/customers/{world.customer.pk}/?tab=audit").content.decode()
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]+) <span[^>]*>[^<]+</span></td><td>([^<]+)</td>", body)
    assert rows == [("web-finance", "customer.status_changed"), ("web-finance", "ledger.payment"),
                    ("test", "account.created"), ("test", "ledger.payment"), ("test", "customer.created")]


def test_the_customer_page_shows_the_integrators_external_id_and_metadata(world, login, actor):
    from tripleplay.customers.services import update_customer
    update_customer(actor, world.customer, external_id="crm-42", metadata={"segment": "smb", "rep": "Ann <a>"})
    page = login("support").get(f"/customers/{world.customer.pk}/").content.decode()
    assert '<dd id="external-id"><code>crm-42</code></dd>' in page
    # keys in order (PostgreSQL's jsonb keeps them in its own order, not the one written)
    assert ('<dd id="metadata"><span class="small"><code>rep</code> Ann &lt;a&gt;</span> · '
            '<span class="small"><code>segment</code> smb</span></dd>') in page


def test_sign_up_with_a_coupon_grants_its_promotion_on_the_product_it_is_for(world, login, actor):
    from tripleplay.promotions.models import Coupon, PromotionGrant
    from tripleplay.promotions.services import create_coupon, create_promotion
    from tripleplay.subscriptions.services import charge_all

    tv = world.cat.tv_plan.product
    half = create_promotion(actor, code="half-3", name="Three months at half price", product=tv, kind="price",
                            periods=3, percent_off=50)
    create_coupon(actor, code="WELCOME50", promotion=half, usage_limit=1)
    client = login("finance")
    response = client.post("/customers/new/submit", {
        "name": "Grace Hopper", "currency": "USD", "balance_model": "postpaid", "credit_limit": "50.00",
        "tv_plan": world.cat.tv_plan.pk, "tv_device_id": "00:1A:79:00:00:01", "addon_plans": [world.cat.sports_plan.pk],
        "coupon_code": " welcome-50 "})
    grace = Customer.objects.get(name="Grace Hopper")
    assert response["Location"] == f"/customers/{grace.pk}/provisioning/"
    grant = PromotionGrant.objects.get(customer=grace)
    assert (grant.assignment.product, grant.assignment.role, grant.source) == (tv, "main", "coupon")
    assert Coupon.objects.get().used == 1
    assert not charge_all(actor, clock.today()).failures
    fees = {e.data["plan"]: (e.amount_minor, e.data.get("promotion")) for e in LedgerEntry.objects.filter(
        customer=grace, source="subscription")}
    # TV 15.00 a month at half price (7.50), in advance on the sign-up day; the add-on at its own price.
    assert fees == {"tv-monthly": (-750, "Three months at half price"),
                    "sports-monthly": (-world.cat.sports_plan.periodic_fee_minor, None)}


def test_a_refused_coupon_refuses_the_whole_sign_up(world, login, actor):
    from tripleplay.promotions.models import Coupon
    from tripleplay.promotions.services import create_coupon, create_promotion

    sports_only = create_promotion(actor, code="sports-free", name="Sports free", product=world.cat.sports_plan.product,
                                   kind="price", periods=1, fixed_fee_minor=0)
    create_coupon(actor, code="SPORTSFREE", promotion=sports_only)
    client = login("finance")
    customers, accounts = Customer.objects.count(), Account.objects.count()
    form = {"name": "Grace Hopper", "currency": "USD", "balance_model": "prepaid", "tv_plan": world.cat.tv_plan.pk,
            "tv_login": "grace"}
    for code, message in (("NOSUCH", "no coupon 'NOSUCH'"),
                          ("sportsfree", "coupon 'SPORTSFREE' is for Sports"),  # no sports add-on chosen
                          ("!", "code must be 3 to 32 letters or digits")):
        response = client.post("/customers/new/submit", {**form, "coupon_code": code})
        assert response.status_code == 422, code
        body = response.content.decode()
        assert message in body.replace("&#x27;", "'") and f'value="{code}"' in body and 'value="Grace Hopper"' in body
        assert (Customer.objects.count(), Account.objects.count()) == (customers, accounts)
    assert Coupon.objects.get().used == 0
