"""Batches and redemptions through the services: exact credits, exact rows, every refusal, the
throttle, IVR by phone number."""

from datetime import timedelta

import pytest
from django.test import override_settings

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.errors import Conflict, IdempotencyConflict, InvalidInput, NotFound
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.money import Money
from tripleplay.vouchers import codes, selectors, services
from tripleplay.vouchers.models import FailedRedemption, Voucher, VoucherBatch
from tripleplay.vouchers.services import MalformedCode, RedemptionThrottled, VoucherRefused

pytestmark = pytest.mark.django_db


def test_a_batch_stores_only_keyed_hashes_and_returns_the_codes_once(make_batch):
    created = make_batch(value_minor=2500, count=4)
    batch = created.batch
    assert (batch.value_minor, batch.currency, batch.count, batch.is_active) == (2500, "USD", 4, True)
    assert [c.serial for c in created.codes] == [1, 2, 3, 4]
    rows = {v.serial: v for v in Voucher.objects.filter(batch=batch)}
    assert sorted(rows) == [1, 2, 3, 4]
    key = services.hash_key()
    for printed in created.codes:
        assert len(printed.code) == 20
        assert rows[printed.serial].code_hash == codes.code_hash(printed.code, key)
        assert printed.code not in rows[printed.serial].code_hash
    assert AuditEvent.objects.filter(action="voucher_batch.created", object_id=str(batch.pk)).count() == 1


def test_a_retried_create_is_refused_without_a_second_batch(actor):
    expires = clock.now() + timedelta(days=10)
    services.create_batch(actor, name="A", value=Money(500, "USD"), count=2, expires_at=expires, idempotency_key="k")
    with pytest.raises(Conflict) as e:
        services.create_batch(actor, name="A", value=Money(500, "USD"), count=2, expires_at=expires, idempotency_key="k")
    assert e.value.code == "voucher_batch_exists"
    with pytest.raises(IdempotencyConflict):
        services.create_batch(actor, name="B", value=Money(500, "USD"), count=2, expires_at=expires, idempotency_key="k")
    assert VoucherBatch.objects.count() == 1 and Voucher.objects.count() == 2


@pytest.mark.parametrize("kwargs, field", [
    ({"count": 0}, "count"), ({"count": services.MAX_BATCH_COUNT + 1}, "count"), ({"name": " "}, "name"),
    ({"name": "a\x00b"}, "name"), ({"value": Money(0, "USD")}, "value_minor"),
    ({"value": Money(10**15 + 1, "USD")}, "value_minor"), ({"days": 0}, "expires_at"),
])
def test_bad_batches_are_refused(actor, kwargs, field):
    args = {"name": "A", "value": Money(500, "USD"), "count": 2, "days": 10} | kwargs
    days = args.pop("days")
    with pytest.raises(InvalidInput) as e:
        services.create_batch(actor, expires_at=clock.now() + timedelta(days=days), idempotency_key="x", **args)
    assert e.value.details["field"] == field
    assert not VoucherBatch.objects.exists()


def test_redeeming_records_one_voucher_payment_of_the_exact_value(actor, make_customer, make_batch):
    customer = make_customer()
    created = make_batch(value_minor=1250, count=2)
    code = created.codes[1]
    redemption = services.redeem(actor, code=code.printable, customer=customer)
    entry = redemption.entry
    assert (entry.kind, entry.amount_minor, entry.currency, entry.balance_after_minor) == ("payment", 1250, "USD", 1250)
    assert (entry.source, entry.idempotency_key) == ("voucher", f"voucher:{redemption.voucher.pk}")
    assert entry.reference == f"voucher {created.batch.pk}/2"
    assert funds_of(customer).balance == Money(1250, "USD")
    v = Voucher.objects.get(batch=created.batch, serial=2)
    assert (v.customer_id, v.entry_id, v.channel, v.redeemed_at) == (customer.pk, entry.pk, "api", clock.now())
    assert Voucher.objects.filter(batch=created.batch, redeemed_at__isnull=True).count() == 1
    assert LedgerEntry.objects.filter(customer=customer).count() == 1
    event = AuditEvent.objects.get(action="voucher.redeemed")
    assert event.data["entry"] == entry.pk and event.data["value_minor"] == 1250
    assert list(selectors.redemptions(batch_id=created.batch.pk)) == [v]
    assert selectors.batch(created.batch.pk).redeemed_count == 1


def test_a_payment_settles_like_cash_a_prepaid_customer_with_debt(actor, make_customer, make_batch):
    from tripleplay.ledger.services import post_charge

    customer = make_customer("postpaid", credit_limit_minor=5000)
    post_charge(actor, customer, Money(700, "USD"), description="fee", idempotency_key="fee")
    services.redeem(actor, code=make_batch(value_minor=1000).codes[0].code, customer=customer)
    assert funds_of(customer).balance == Money(300, "USD")


def _refused(actor, customer, code, expected):
    with pytest.raises(VoucherRefused) as e:
        services.redeem(actor, code=code, customer=customer)
    assert e.value.code == expected
    return e.value


def test_each_code_works_once(actor, make_customer, make_batch):
    first, second = make_customer(), make_customer()
    code = make_batch().codes[0].code
    services.redeem(actor, code=code, customer=first)
    again = _refused(actor, first, code, "voucher_used")
    assert again.details["redeemed_by_this_customer"] is True
    other = _refused(actor, second, code, "voucher_used")
    assert other.details == {}  # nothing about who used it
    assert funds_of(first).balance == Money(1000, "USD") and funds_of(second).balance == Money(0, "USD")
    assert LedgerEntry.objects.count() == 1


def test_expired_disabled_wrong_currency_unknown_and_malformed_codes_are_refused(actor, make_customer, make_batch):
    usd, eur = make_customer(), make_customer(currency="EUR")
    expiring = make_batch(days=1).codes[0].code
    disabled = make_batch()
    euro = make_batch(currency="EUR").codes[0].code
    services.disable_batch(actor, disabled.batch, reason="stolen box")
    _refused(actor, usd, disabled.codes[0].code, "voucher_disabled")
    _refused(actor, usd, euro, "voucher_currency_mismatch")
    _refused(actor, usd, "0" * 20 if "0" * 20 != euro else "1" * 20, "voucher_not_found")
    with pytest.raises(MalformedCode):
        services.redeem(actor, code="12345", customer=usd)
    clock.freeze(clock.now() + timedelta(days=1))
    _refused(actor, usd, expiring, "voucher_expired")
    services.redeem(actor, code=euro, customer=eur)  # the right currency still works
    assert LedgerEntry.objects.filter(customer=usd).count() == 0
    assert Voucher.objects.filter(redeemed_at__isnull=False).count() == 1


def test_disabling_is_recorded_once_and_keeps_redeemed_vouchers(actor, make_customer, make_batch):
    created = make_batch(count=2)
    services.redeem(actor, code=created.codes[0].code, customer=make_customer())
    batch = services.disable_batch(actor, created.batch, reason="lost")
    services.disable_batch(actor, batch)
    assert batch.is_active is False and batch.disabled_at == clock.now()
    assert AuditEvent.objects.filter(action="voucher_batch.disabled").count() == 1
    assert selectors.batch(batch.pk).redeemed_count == 1


def test_a_closed_customer_cannot_redeem(actor, make_customer, make_batch):
    from tripleplay.customers.services import change_customer_status

    customer = make_customer()
    change_customer_status(actor, customer, "closed", reason="moved away")
    customer.refresh_from_db()
    with pytest.raises(Conflict) as e:
        services.redeem(actor, code=make_batch().codes[0].code, customer=customer)
    assert e.value.code == "customer_closed"
    assert not Voucher.objects.filter(redeemed_at__isnull=False).exists()


@override_settings(TRIPLEPLAY_VOUCHER_MAX_FAILURES=3, TRIPLEPLAY_VOUCHER_FAILURE_WINDOW_SECONDS=600)
def test_n_failures_of_one_customer_throttle_it_even_with_a_valid_code(actor, make_customer, make_batch):
    from tripleplay.core.actors import Actor

    customer, other = make_customer(), make_customer()
    good = make_batch().codes[0].code
    clerk = Actor.system("clerk-1")  # other clients, so only the customer's scope fills up
    for i in range(3):
        _refused(Actor.system(f"clerk-{i + 10}"), customer, f"{i:020d}", "voucher_not_found")
    clock.advance(timedelta(seconds=100))
    with pytest.raises(RedemptionThrottled) as e:
        services.redeem(clerk, code=good, customer=customer)
    assert e.value.http_status == 429
    assert e.value.details == {"retry_after_seconds": 500, "scope": "customer"}
    assert FailedRedemption.objects.filter(scope=f"customer:{customer.pk}").count() == 3  # a 429 adds nothing
    services.redeem(clerk, code=make_batch().codes[0].code, customer=other)  # others are not throttled
    clock.advance(timedelta(seconds=500))
    services.redeem(clerk, code=good, customer=customer)  # the window has passed
    assert funds_of(customer).balance == Money(1000, "USD")


@override_settings(TRIPLEPLAY_VOUCHER_MAX_FAILURES=3)
def test_n_failures_of_one_client_throttle_it_across_customers(actor, make_customer, make_batch):
    from tripleplay.core.actors import Actor

    guesser = Actor.system("guesser")
    for i in range(3):
        _refused(guesser, make_customer(), f"{i:020d}", "voucher_not_found")
    with pytest.raises(RedemptionThrottled) as e:
        services.redeem(guesser, code=make_batch().codes[0].code, customer=make_customer())
    assert e.value.details["scope"] == "system"
    assert LedgerEntry.objects.count() == 0
    assert services.purge_failures() == 0
    clock.advance(timedelta(seconds=901))
    assert services.purge_failures() == 6


def test_ivr_redeems_by_phone_number(actor, make_customer, make_account, make_batch):
    customer = make_customer()
    account = make_account(customer, phone_number="+4420555000")
    client, token = services.create_ivr_client(actor, name="Asterisk")
    assert token.startswith("tpivr_") and selectors.ivr_client_for_token(token) == client
    code = make_batch(value_minor=500).codes[0].code
    redemption = services.redeem_by_phone(client, phone_number="+4420555000", code=code)
    assert redemption.entry.amount_minor == 500 and redemption.entry.customer_id == customer.pk
    assert (redemption.voucher.account_id, redemption.voucher.channel) == (account.pk, "ivr")
    assert redemption.entry.actor_name == "ivr:Asterisk"
    with pytest.raises(NotFound) as e:
        services.redeem_by_phone(client, phone_number="999", code=code)
    assert e.value.code == "phone_number_not_found"
    assert FailedRedemption.objects.filter(scope=f"api_client:ivr-{client.pk}").count() == 1
    services.revoke_ivr_client(actor, client)
    assert selectors.ivr_client_for_token(token) is None


def test_the_create_ivr_client_command_prints_a_working_token():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create-ivr-client", "asterisk-1", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    client = selectors.ivr_client_for_token(token)
    assert client is not None and client.name == "asterisk-1" and token not in client.token_hash
    quiet = StringIO()
    call_command("create-ivr-client", "asterisk-2", quiet=True, stdout=quiet)
    assert selectors.ivr_client_for_token(quiet.getvalue().strip()).name == "asterisk-2"
