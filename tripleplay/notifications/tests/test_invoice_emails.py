"""The invoice e-mail from the operators' templates in the customer's language (D200): a German customer
gets the German text, an English one the English, each with the invoice's stored PDF attached; a template
an operator edits applies to the next invoice; a voided invoice's credit note is e-mailed with its PDF."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from django.core import mail

from tripleplay import clock
from tripleplay.invoicing import documents
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import issue_out_of_turn, void_invoice
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money
from tripleplay.notifications import services
from tripleplay.notifications.delivery import Deliverer
from tripleplay.notifications.models import Notification, Template

NBSP = "\xa0"


@pytest.fixture(autouse=True)
def _setup(tmp_path, settings):
    clock.freeze(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    settings.STORAGES = {**settings.STORAGES, "invoices": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(tmp_path / "invoices")}}}


def deliver() -> None:
    documents.store_pending()
    Deliverer(seed=1).run_once()


def invoice_for(actor, customer) -> Invoice:
    post_charge(actor, customer, Money(2200, "EUR"), description="Installation", idempotency_key=f"i-{customer.pk}")
    return issue_out_of_turn(actor, customer)


def test_a_german_customer_gets_the_german_invoice_email_and_an_english_one_the_english(actor, make_customer):
    de = make_customer("postpaid", currency="EUR", credit_limit_minor=100_000, name="Greta Schmidt",
                       email="greta@example.de")
    services.set_preferences(actor, de, language="de")
    en = make_customer("postpaid", currency="EUR", credit_limit_minor=100_000, name="Ann Example",
                       email="ann@example.com")
    inv_de, inv_en = invoice_for(actor, de), invoice_for(actor, en)
    deliver()
    by_to = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_to) == ["ann@example.com", "greta@example.de"]
    german, english = by_to["greta@example.de"], by_to["ann@example.com"]
    assert german.subject == f"Ihre Rechnung {inv_de.number_text}"
    assert german.body == (f"Guten Tag Greta Schmidt,\n\nanbei Ihre Rechnung {inv_de.number_text} vom 10. März 2026.\n"
                           f"Zu zahlen: 22,00{NBSP}€ bis zum 24. März 2026.\n")
    assert english.subject == f"Your invoice {inv_en.number_text}"
    assert english.body == (f"Dear Ann Example,\n\nyour invoice {inv_en.number_text} of 10 March 2026 is attached.\n"
                            "Amount due: €22.00, by 24 March 2026.\n")
    for msg, inv in ((german, inv_de), (english, inv_en)):
        [(name, pdf, mime)] = msg.attachments
        inv.refresh_from_db()
        assert (name, mime) == (f"{inv.number_text}.pdf", "application/pdf")
        assert hashlib.sha256(pdf).hexdigest() == inv.pdf_sha256 and pdf[:5] == b"%PDF-"
    assert set(Notification.objects.values_list("language", "status")) == {("de", "sent"), ("en", "sent")}


def test_an_operators_edit_applies_to_the_next_invoice_and_a_template_switched_off_sends_nothing(
        actor, make_customer):
    c = make_customer("postpaid", currency="EUR", credit_limit_minor=100_000, name="Ann", email="ann@example.com")
    t = Template.objects.get(kind="invoice_issued", channel="email", language="en")
    services.update_template(actor, t, subject="Invoice {{ invoice_number }} from Example Telecom",
                             body="Hello {{ customer_name }}, {{ total }} by {{ due_date }}.")
    inv = invoice_for(actor, c)
    deliver()
    [msg] = mail.outbox
    assert (msg.subject, msg.body) == (f"Invoice {inv.number_text} from Example Telecom",
                                       "Hello Ann, €22.00 by 24 March 2026.")
    assert msg.attachments[0][0] == f"{inv.number_text}.pdf"
    services.update_template(actor, t, enabled=False)
    post_charge(actor, c, Money(100, "EUR"), description="Extra", idempotency_key="extra")
    issue_out_of_turn(actor, c)
    deliver()
    assert len(mail.outbox) == 1


def test_a_credit_note_is_emailed_with_its_pdf(actor, make_customer):
    c = make_customer("postpaid", currency="EUR", credit_limit_minor=100_000, name="Ann", email="ann@example.com")
    inv = invoice_for(actor, c)
    cn = void_invoice(actor, inv, reason="billed twice")
    deliver()
    assert [m.subject for m in mail.outbox] == [f"Your invoice {inv.number_text}", f"Your credit note {cn.number_text}"]
    msg = mail.outbox[1]
    assert msg.body == (f"Dear Ann,\n\nyour credit note {cn.number_text} of 10 March 2026, which cancels invoice "
                        f"{inv.number_text}, is attached.\nYour balance is now €0.00.\n")
    assert msg.attachments[0][0] == f"{cn.number_text}.pdf"


def test_a_stored_pdf_that_changed_is_a_dead_letter_not_a_wrong_attachment(actor, make_customer, settings):
    from django.core.files.storage import storages

    c = make_customer("postpaid", currency="EUR", credit_limit_minor=100_000, name="Ann", email="ann@example.com")
    inv = invoice_for(actor, c)
    documents.store_pending()
    inv.refresh_from_db()
    with storages["invoices"].open(inv.pdf_path, "wb") as f:
        f.write(b"%PDF- not the issued document")
    Deliverer(seed=1).run_once()
    n = Notification.objects.get(kind="invoice_issued")
    assert (n.status, mail.outbox) == ("failed", [])
    assert n.last_error == f"attachment: the stored PDF of {inv.number_text} does not match its hash"
