"""What can be notified: the kinds, the channels each kind is shipped for, the variables its templates
may use (with a sample for the preview), and the shipped texts in English and German. Pure data: the
data migration seeds the template rows from DEFAULTS, and operators edit those rows afterwards.

A kind with ``attach_invoice`` attaches the PDF of the invoice its notice names to the e-mail (the invoice
issued, the credit note issued, each collections step): the row keeps the invoice, and the delivery worker
reads the stored PDF when it sends (D200)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tripleplay.money import Money

EMAIL, SMS = "email", "sms"
CHANNELS = (EMAIL, SMS)
LANGUAGES = ("en", "de")  # the portal's languages (settings.LANGUAGES); English is the fallback
FALLBACK = "en"


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    channels: tuple[str, ...]
    variables: tuple[str, ...]
    sample: dict
    wired: bool = True  # False: listed for a caller still to come (trials), nothing calls it yet
    attach_invoice: bool = False  # the e-mail carries the PDF of the notice's invoice (D200)


_D = date(2026, 12, 5)
_NAME = {"customer_name": "Ann Example"}
_INV = {**_NAME, "invoice_number": "INV-2026-000042", "open_amount": Money(2200, "EUR"), "due_date": _D}
_ISSUED = {**_NAME, "invoice_number": "INV-2026-000042", "issue_date": date(2026, 11, 21), "total": Money(2200, "EUR"),
           "amount_due": Money(2200, "EUR"), "due_date": _D}
_CREDIT = {**_NAME, "credit_note_number": "CN-000007", "invoice_number": "INV-2026-000042", "issue_date": _D,
           "total": Money(-2200, "EUR"), "amount_due": Money(-2200, "EUR")}

KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("low_balance", "Low balance", CHANNELS, ("customer_name", "available", "threshold"),
         {**_NAME, "available": Money(450, "EUR"), "threshold": Money(500, "EUR")}),
    Kind("invoice_issued", "Invoice issued", CHANNELS, tuple(_ISSUED), _ISSUED, attach_invoice=True),
    Kind("credit_note_issued", "Credit note issued", (EMAIL,), tuple(_CREDIT), _CREDIT, attach_invoice=True),
    Kind("collection_reminder", "Collections: reminder", CHANNELS, tuple(_INV), _INV, attach_invoice=True),
    Kind("collection_late_fee", "Collections: late fee", CHANNELS, (*_INV, "late_fee"),
         {**_INV, "late_fee": Money(500, "EUR")}, attach_invoice=True),
    Kind("collection_suspend", "Collections: suspension", CHANNELS, tuple(_INV), _INV, attach_invoice=True),
    Kind("collection_block", "Collections: block", CHANNELS, tuple(_INV), _INV, attach_invoice=True),
    Kind("suspended", "Service suspended", CHANNELS, ("customer_name", "reason"),
         {**_NAME, "reason": "insufficient funds"}),
    Kind("package_ending", "Package ending", CHANNELS, ("customer_name", "package", "last_day"),
         {**_NAME, "package": "Sports", "last_day": _D}),
    Kind("trial_ending", "Trial ending", CHANNELS, ("customer_name", "package", "last_day"),
         {**_NAME, "package": "Sports", "last_day": _D}),
)}

COLLECTION_KINDS = {"reminder": "collection_reminder", "late_fee": "collection_late_fee",
                    "suspend": "collection_suspend", "block": "collection_block"}


def _t(subject: str, body: str) -> tuple[str, str]:
    return subject, body


# (kind, channel, language) -> (subject, body). SMS has no subject.
DEFAULTS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("low_balance", EMAIL, "en"): _t(
        "Your balance is low",
        "Dear {{ customer_name }},\n\nyour available balance is {{ available }}, below the {{ threshold }} you "
        "asked us to warn you at.\nPlease top up to keep your services running.\n"),
    ("low_balance", EMAIL, "de"): _t(
        "Ihr Guthaben ist niedrig",
        "Guten Tag {{ customer_name }},\n\nIhr verfügbares Guthaben beträgt {{ available }} und liegt damit unter "
        "der Warnschwelle von {{ threshold }}.\nBitte laden Sie auf, damit Ihre Dienste weiterlaufen.\n"),
    ("low_balance", SMS, "en"): _t("", "Your balance is {{ available }}, below {{ threshold }}. Please top up."),
    ("low_balance", SMS, "de"): _t("", "Ihr Guthaben beträgt {{ available }}, unter {{ threshold }}. "
                                       "Bitte laden Sie auf."),
    ("invoice_issued", EMAIL, "en"): _t(
        "Your invoice {{ invoice_number }}",
        "Dear {{ customer_name }},\n\nyour invoice {{ invoice_number }} of {{ issue_date }} is attached.\n"
        "Amount due: {{ amount_due }}, by {{ due_date }}.\n"),
    ("invoice_issued", EMAIL, "de"): _t(
        "Ihre Rechnung {{ invoice_number }}",
        "Guten Tag {{ customer_name }},\n\nanbei Ihre Rechnung {{ invoice_number }} vom {{ issue_date }}.\n"
        "Zu zahlen: {{ amount_due }} bis zum {{ due_date }}.\n"),
    ("credit_note_issued", EMAIL, "en"): _t(
        "Your credit note {{ credit_note_number }}",
        "Dear {{ customer_name }},\n\nyour credit note {{ credit_note_number }} of {{ issue_date }}, which "
        "cancels invoice {{ invoice_number }}, is attached.\nYour balance is now {{ amount_due }}.\n"),
    ("credit_note_issued", EMAIL, "de"): _t(
        "Ihre Gutschrift {{ credit_note_number }}",
        "Guten Tag {{ customer_name }},\n\nanbei Ihre Gutschrift {{ credit_note_number }} vom {{ issue_date }}, "
        "die Rechnung {{ invoice_number }} storniert.\nIhr Saldo beträgt jetzt {{ amount_due }}.\n"),
    ("collection_reminder", EMAIL, "en"): _t(
        "Payment reminder: invoice {{ invoice_number }}",
        "Dear {{ customer_name }},\n\ninvoice {{ invoice_number }}, due on {{ due_date }}, still has "
        "{{ open_amount }} open.\nPlease pay it soon; the invoice is attached.\n"),
    ("collection_reminder", EMAIL, "de"): _t(
        "Zahlungserinnerung: Rechnung {{ invoice_number }}",
        "Guten Tag {{ customer_name }},\n\nvon Rechnung {{ invoice_number }}, fällig am {{ due_date }}, sind noch "
        "{{ open_amount }} offen.\nBitte zahlen Sie bald; die Rechnung liegt bei.\n"),
    ("collection_late_fee", EMAIL, "en"): _t(
        "Late fee charged: invoice {{ invoice_number }} is overdue",
        "Dear {{ customer_name }},\n\ninvoice {{ invoice_number }}, due on {{ due_date }}, still has "
        "{{ open_amount }} open.\nA late fee of {{ late_fee }} was charged.\n"),
    ("collection_late_fee", EMAIL, "de"): _t(
        "Mahngebühr berechnet: Rechnung {{ invoice_number }} ist überfällig",
        "Guten Tag {{ customer_name }},\n\nvon Rechnung {{ invoice_number }}, fällig am {{ due_date }}, sind noch "
        "{{ open_amount }} offen.\nEine Mahngebühr von {{ late_fee }} wurde berechnet.\n"),
    ("collection_suspend", EMAIL, "en"): _t(
        "Service suspended: invoice {{ invoice_number }} is overdue",
        "Dear {{ customer_name }},\n\ninvoice {{ invoice_number }}, due on {{ due_date }}, still has "
        "{{ open_amount }} open, and your service is suspended.\n"
        "A payment that clears what is overdue restores it automatically.\n"),
    ("collection_suspend", EMAIL, "de"): _t(
        "Dienst gesperrt: Rechnung {{ invoice_number }} ist überfällig",
        "Guten Tag {{ customer_name }},\n\nvon Rechnung {{ invoice_number }}, fällig am {{ due_date }}, sind noch "
        "{{ open_amount }} offen; Ihr Dienst ist gesperrt.\n"
        "Eine Zahlung des überfälligen Betrags hebt die Sperre automatisch auf.\n"),
    ("collection_block", EMAIL, "en"): _t(
        "Service blocked: invoice {{ invoice_number }} is overdue",
        "Dear {{ customer_name }},\n\ninvoice {{ invoice_number }}, due on {{ due_date }}, still has "
        "{{ open_amount }} open, and your service is blocked.\nPlease contact us.\n"),
    ("collection_block", EMAIL, "de"): _t(
        "Dienst blockiert: Rechnung {{ invoice_number }} ist überfällig",
        "Guten Tag {{ customer_name }},\n\nvon Rechnung {{ invoice_number }}, fällig am {{ due_date }}, sind noch "
        "{{ open_amount }} offen; Ihr Dienst ist blockiert.\nBitte kontaktieren Sie uns.\n"),
    ("invoice_issued", SMS, "en"): _t("", "Invoice {{ invoice_number }}: {{ total }} due by {{ due_date }}. "
                                          "The PDF is in your e-mail."),
    ("invoice_issued", SMS, "de"): _t("", "Rechnung {{ invoice_number }}: {{ total }}, fällig am {{ due_date }}. "
                                          "Das PDF ist in Ihrer E-Mail."),
    ("collection_reminder", SMS, "en"): _t("", "Reminder: invoice {{ invoice_number }} was due on {{ due_date }}; "
                                               "{{ open_amount }} is still open."),
    ("collection_reminder", SMS, "de"): _t("", "Erinnerung: Rechnung {{ invoice_number }} war am {{ due_date }} "
                                               "fällig; {{ open_amount }} sind noch offen."),
    ("collection_late_fee", SMS, "en"): _t("", "A late fee of {{ late_fee }} was charged: invoice "
                                               "{{ invoice_number }} ({{ open_amount }} open) is overdue."),
    ("collection_late_fee", SMS, "de"): _t("", "Eine Mahngebühr von {{ late_fee }} wurde berechnet: Rechnung "
                                               "{{ invoice_number }} ({{ open_amount }} offen) ist überfällig."),
    ("collection_suspend", SMS, "en"): _t("", "Your service is suspended: invoice {{ invoice_number }} "
                                              "({{ open_amount }}) is overdue. Paying restores it."),
    ("collection_suspend", SMS, "de"): _t("", "Ihr Dienst ist gesperrt: Rechnung {{ invoice_number }} "
                                              "({{ open_amount }}) ist überfällig. Eine Zahlung hebt die Sperre auf."),
    ("collection_block", SMS, "en"): _t("", "Your service is blocked: invoice {{ invoice_number }} "
                                            "({{ open_amount }}) is overdue. Please contact us."),
    ("collection_block", SMS, "de"): _t("", "Ihr Dienst ist blockiert: Rechnung {{ invoice_number }} "
                                            "({{ open_amount }}) ist überfällig. Bitte kontaktieren Sie uns."),
    ("suspended", EMAIL, "en"): _t(
        "Your service is suspended",
        "Dear {{ customer_name }},\n\nyour service has been suspended ({{ reason }}).\n"),
    ("suspended", EMAIL, "de"): _t(
        "Ihr Dienst ist gesperrt",
        "Guten Tag {{ customer_name }},\n\nIhr Dienst wurde gesperrt ({{ reason }}).\n"),
    ("suspended", SMS, "en"): _t("", "Your service has been suspended ({{ reason }})."),
    ("suspended", SMS, "de"): _t("", "Ihr Dienst wurde gesperrt ({{ reason }})."),
    ("package_ending", EMAIL, "en"): _t(
        "{{ package }}: your last day is {{ last_day }}",
        "Dear {{ customer_name }},\n\nyour package {{ package }} runs until {{ last_day }}.\n"),
    ("package_ending", EMAIL, "de"): _t(
        "{{ package }}: Ihr letzter Tag ist der {{ last_day }}",
        "Guten Tag {{ customer_name }},\n\nIhr Paket {{ package }} läuft bis {{ last_day }}.\n"),
    ("package_ending", SMS, "en"): _t("", "Your package {{ package }} runs until {{ last_day }}."),
    ("package_ending", SMS, "de"): _t("", "Ihr Paket {{ package }} läuft bis {{ last_day }}."),
    ("trial_ending", EMAIL, "en"): _t(
        "Your trial of {{ package }} runs until {{ last_day }}",
        "Dear {{ customer_name }},\n\nyour trial of {{ package }} runs until {{ last_day }}.\n"),
    ("trial_ending", EMAIL, "de"): _t(
        "Ihr Test von {{ package }} läuft bis {{ last_day }}",
        "Guten Tag {{ customer_name }},\n\nIhr Test von {{ package }} läuft bis {{ last_day }}.\n"),
    ("trial_ending", SMS, "en"): _t("", "Your trial of {{ package }} runs until {{ last_day }}."),
    ("trial_ending", SMS, "de"): _t("", "Ihr Test von {{ package }} läuft bis {{ last_day }}."),
}
