"""The German catalogue's translations, applied to django.po (kept so that `makemessages` can be run
again and the translations re-applied: ``python tripleplay/selfcare/locale/translate_de.py``).
The .mo is compiled with Babel (pure Python, in the stack): no gettext needed at install time."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

DE = {
    "Your available funds do not cover this. Top up and try again.":
        "Ihr verfügbares Guthaben reicht dafür nicht. Laden Sie auf und versuchen Sie es erneut.",
    "You already have this package.": "Dieses Paket haben Sie bereits.",
    "This package has already ended.": "Dieses Paket ist bereits beendet.",
    "This account is closed.": "Dieses Konto ist geschlossen.",
    "The current password is wrong.": "Das aktuelle Passwort ist falsch.",
    "This link has expired or was already used: ask for a new one.":
        "Dieser Link ist abgelaufen oder wurde schon benutzt: Fordern Sie einen neuen an.",
    "Too many failed attempts: wait a few minutes and try again.":
        "Zu viele Fehlversuche: Warten Sie einige Minuten und versuchen Sie es erneut.",
    "Unknown login or wrong password.": "Unbekannte Anmeldung oder falsches Passwort.",
    "Your service is suspended: contact us or settle what is due first.":
        "Ihr Dienst ist gesperrt: Kontaktieren Sie uns oder begleichen Sie zuerst, was fällig ist.",
    "Add a channel package": "Senderpaket hinzufügen",
    # vacation holds (D151)
    "Pause for a vacation": "Für den Urlaub pausieren",
    "Paused from %(start)s, service resumes on %(end)s": "Pausiert ab %(start)s, der Dienst läuft wieder ab %(end)s",
    "paused now": "jetzt pausiert",
    "Cancel the pause": "Pause absagen",
    "Pause from": "Pausieren ab",
    "Service resumes on": "Dienst läuft wieder ab",
    "Pause": "Pausieren",
    "Your service pauses on %(start)s and resumes on %(end)s.":
        "Ihr Dienst pausiert ab %(start)s und läuft ab %(end)s wieder.",
    "The pause was cancelled.": "Die Pause wurde abgesagt.",
    "This account is already paused on some of these days.": "Dieses Konto ist an einigen dieser Tage bereits pausiert.",
    "A pause must be asked for at least a day ahead.": "Eine Pause muss mindestens einen Tag im Voraus beantragt werden.",
    "This pause is longer than allowed.": "Diese Pause ist länger als erlaubt.",
    "The pause must end after it starts.": "Die Pause muss nach ihrem Beginn enden.",
    "This pause has already started: contact us to end it.":
        "Diese Pause hat bereits begonnen: Kontaktieren Sie uns, um sie zu beenden.",
    "Add %(name)s": "%(name)s hinzufügen",
    "Account": "Konto",
    "Channel packages": "Senderpakete",
    "Price": "Preis",
    "Starts": "Beginnt",
    "Charged now": "Jetzt berechnet",
    "Available to spend": "Verfügbar",
    "Billing periods start on the day you add the package. If you remove it before a period ends, the unused "
    "days are credited.":
        "Abrechnungszeiträume beginnen am Tag, an dem Sie das Paket hinzufügen. Kündigen Sie vor Ende eines "
        "Zeitraums, werden die ungenutzten Tage gutgeschrieben.",
    "Confirm and add": "Bestätigen und hinzufügen",
    "Cancel": "Abbrechen",
    "Back": "Zurück",
    "Remove a channel package": "Senderpaket entfernen",
    "Remove %(name)s": "%(name)s entfernen",
    "Ends": "Endet",
    "The package stops today. The unused days of the period you paid for are credited with the next charge run; "
    "a minimum term may carry a fee.":
        "Das Paket endet heute. Die ungenutzten Tage des bezahlten Zeitraums werden mit dem nächsten "
        "Abrechnungslauf gutgeschrieben; bei einer Mindestlaufzeit kann eine Gebühr anfallen.",
    "Confirm and remove": "Bestätigen und entfernen",
    "My Tripleplay": "Mein Tripleplay",
    "Portal": "Portal",
    "Overview": "Übersicht",
    "Services": "Dienste",
    "Invoices": "Rechnungen",
    "Payments": "Zahlungen",
    "Usage": "Verbrauch",
    "Settings": "Einstellungen",
    "Log out": "Abmelden",
    "Forgot your password?": "Passwort vergessen?",
    "We send a link to set a new password to the e-mail address we have for you.":
        "Wir senden einen Link zum Setzen eines neuen Passworts an die E-Mail-Adresse, die wir von Ihnen haben.",
    "E-mail or account login": "E-Mail oder Konto-Anmeldename",
    "Send the link": "Link senden",
    "Hello, %(name)s": "Hallo, %(name)s",
    "Your money": "Ihr Geld",
    "Balance": "Guthaben",
    "Reserved": "Reserviert",
    "Open invoices": "Offene Rechnungen",
    "due": "fällig",
    "Nothing to pay.": "Nichts zu zahlen.",
    "Your services": "Ihre Dienste",
    "No services yet.": "Noch keine Dienste.",
    "Add or remove channel packages": "Senderpakete hinzufügen oder entfernen",
    "Latest payments": "Letzte Zahlungen",
    "No payments yet.": "Noch keine Zahlungen.",
    "%(amount)s open": "%(amount)s offen",
    "paid": "bezahlt",
    "No invoices yet.": "Noch keine Rechnungen.",
    "Log in": "Anmelden",
    "Password": "Passwort",
    "Payments and credits": "Zahlungen und Gutschriften",
    "Payment": "Zahlung",
    "Refund": "Erstattung",
    "Credit": "Gutschrift",
    "Account %(login)s": "Konto %(login)s",
    "Remove": "Entfernen",
    "Add": "Hinzufügen",
    "Set your password": "Passwort setzen",
    "New password (at least 8 characters)": "Neues Passwort (mindestens 8 Zeichen)",
    "The same again": "Noch einmal dasselbe",
    "Set the password": "Passwort setzen",
    "Change your password": "Passwort ändern",
    "Current password": "Aktuelles Passwort",
    "Change the password": "Passwort ändern",
    "For your safety you are logged out after %(minutes)s minutes without activity.":
        "Zu Ihrer Sicherheit werden Sie nach %(minutes)s Minuten ohne Aktivität abgemeldet.",
    "Calls, data and messages": "Anrufe, Daten und Nachrichten",
    "Call to %(to)s, %(seconds)s s": "Anruf an %(to)s, %(seconds)s s",
    "Data session, %(n)s bytes": "Datensitzung, %(n)s Bytes",
    "%(n)s messages to %(to)s": "%(n)s Nachrichten an %(to)s",
    "No usage yet.": "Noch kein Verbrauch.",
    "Pay-per-view purchases": "Pay-per-View-Käufe",
    "No purchases yet.": "Noch keine Käufe.",
    "If this login exists, we have sent a link to its e-mail address.":
        "Wenn diese Anmeldung existiert, haben wir einen Link an ihre E-Mail-Adresse gesendet.",
    "The two passwords differ.": "Die beiden Passwörter stimmen nicht überein.",
    "Your password is set. Log in with it.": "Ihr Passwort ist gesetzt. Melden Sie sich damit an.",
    "%(name)s was added. It reaches your TV within a minute.":
        "%(name)s wurde hinzugefügt. Es erscheint innerhalb einer Minute auf Ihrem Fernseher.",
    "%(name)s was removed.": "%(name)s wurde entfernt.",
    "Your password was changed.": "Ihr Passwort wurde geändert.",
    "per day": "pro Tag",
    "per week": "pro Woche",
    "per half month": "pro Halbmonat",
    "per month": "pro Monat",
    "per quarter": "pro Quartal",
    "per half year": "pro Halbjahr",
    "per year": "pro Jahr",
    "declined": "abgelehnt",
    "reserved": "reserviert",
    "bought": "gekauft",
    "cancelled": "storniert",
    "expired": "abgelaufen",
    "refunded": "erstattet",
    "Your customer account is closed.": "Ihr Kundenkonto ist geschlossen.",
    "This invoice has nothing left to pay.": "Auf dieser Rechnung ist nichts mehr zu bezahlen.",
    "Online payments are not available.": "Online-Zahlungen sind nicht verfügbar.",
    "The payment service could not start the payment: try again later.":
        "Der Zahlungsdienst konnte die Zahlung nicht beginnen: Versuchen Sie es später erneut.",
    "A voucher code has 20 digits: check what you typed.":
        "Ein Gutscheincode hat 20 Ziffern: Prüfen Sie Ihre Eingabe.",
    "No voucher has this code: check the digits.": "Kein Gutschein hat diesen Code: Prüfen Sie die Ziffern.",
    "This voucher has already been used.": "Dieser Gutschein wurde bereits eingelöst.",
    "This voucher is no longer valid.": "Dieser Gutschein ist nicht mehr gültig.",
    "This voucher has expired.": "Dieser Gutschein ist abgelaufen.",
    "This voucher is in another currency than your account.":
        "Dieser Gutschein lautet auf eine andere Währung als Ihr Konto.",
    "Top up (%(currency)s)": "Aufladen (%(currency)s)",
    "Top up online": "Online aufladen",
    "Online payment": "Online-Zahlung",
    "The payment was cancelled: nothing was charged.": "Die Zahlung wurde abgebrochen: Nichts wurde belastet.",
    "Amount": "Betrag",
    "Invoice": "Rechnung",
    "Payment received. Thank you.": "Zahlung erhalten. Vielen Dank.",
    "The payment provider has not confirmed this payment yet. It usually takes a few seconds.":
        "Der Zahlungsdienst hat diese Zahlung noch nicht bestätigt. Das dauert meist wenige Sekunden.",
    "Check again": "Erneut prüfen",
    "No payment to show.": "Keine Zahlung anzuzeigen.",
    "Redeem a voucher": "Gutschein einlösen",
    "Redeem": "Einlösen",
    "Pay %(number)s online": "%(number)s online bezahlen",
    "Pay online": "Online bezahlen",
    "Type an amount greater than zero and at most %(most)s, such as %(example)s.":
        "Geben Sie einen Betrag über null und höchstens %(most)s ein, zum Beispiel %(example)s.",
    "Your voucher was redeemed: %(amount)s credited.": "Ihr Gutschein wurde eingelöst: %(amount)s gutgeschrieben.",
    "Pay-per-view": "Pay-per-View",
    "Events on sale": "Veranstaltungen im Verkauf",
    "Buy %(title)s": "%(title)s kaufen",
    "Buy": "Kaufen",
    "No events on sale for your accounts right now.": "Für Ihre Konten sind gerade keine Veranstaltungen im Verkauf.",
    "Events on %(names)s are sold on your TV only: that platform cannot yet be told about a purchase made here.":
        "Veranstaltungen auf %(names)s gibt es nur über Ihren Fernseher: Diese Plattform kann über einen Kauf hier "
        "noch nicht informiert werden.",
    "Buy an event": "Veranstaltung kaufen",
    "The price is charged now; the event is added to your TV within a minute.":
        "Der Preis wird jetzt berechnet; die Veranstaltung ist innerhalb einer Minute auf Ihrem Fernseher.",
    "Confirm and buy": "Bestätigen und kaufen",
    "You bought %(title)s for %(amount)s. It reaches your TV within a minute.":
        "Sie haben %(title)s für %(amount)s gekauft. Es ist innerhalb einer Minute auf Ihrem Fernseher.",
    "This account has no pay-per-view service. Add it first, or ask us.":
        "Dieses Konto hat keinen Pay-per-View-Dienst. Fügen Sie ihn zuerst hinzu oder fragen Sie uns.",
    "Your account cannot buy right now. Please contact us.":
        "Ihr Konto kann gerade nicht kaufen. Bitte kontaktieren Sie uns.",
    "This event is no longer on sale.": "Diese Veranstaltung ist nicht mehr im Verkauf.",
    "The purchase was refused (%(code)s).": "Der Kauf wurde abgelehnt (%(code)s).",
}
PLURALS = {
    ("%(n)s invoice open, %(total)s in all.", "%(n)s invoices open, %(total)s in all."):
        ("%(n)s Rechnung offen, insgesamt %(total)s.", "%(n)s Rechnungen offen, insgesamt %(total)s."),
}


def main() -> None:
    here = Path(__file__).resolve().parent / "de" / "LC_MESSAGES"
    with open(here / "django.po", "rb") as f:
        catalog = read_po(f, locale="de")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id
        if isinstance(key, tuple | list):
            message.string = PLURALS.get(tuple(key)) or missing.append(key) or ("", "")
        else:
            message.string = DE.get(key) or missing.append(key) or ""
        message.flags.discard("fuzzy")
    if missing:
        raise SystemExit(f"untranslated: {missing}")
    with open(here / "django.po", "wb") as f:
        write_po(f, catalog, width=120, omit_header=False)
    with open(here / "django.po", "rb") as f:  # compiled from the file as written, as the test does
        catalog = read_po(f, locale="de")
    with open(here / "django.mo", "wb") as f:
        write_mo(f, catalog)


if __name__ == "__main__":
    main()
