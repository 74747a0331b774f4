"""The pure rules: code format, keyed hash, and which refusal a voucher gets (table-driven)."""

from datetime import UTC, datetime

import pytest

from tripleplay.vouchers import codes
from tripleplay.vouchers.codes import VoucherState

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 4, 1, tzinfo=UTC)


def state(active=True, expires_at=LATER, currency="USD", redeemed=False):
    return VoucherState(batch_active=active, expires_at=expires_at, currency=currency, redeemed=redeemed)


@pytest.mark.parametrize("voucher, customer_currency, expected", [
    (state(), "USD", None),
    (None, "USD", codes.NOT_FOUND),
    (state(redeemed=True), "USD", codes.USED),
    (state(redeemed=True, active=False), "USD", codes.USED),  # used stays used after a disable
    (state(redeemed=True, expires_at=NOW), "EUR", codes.USED),
    (state(active=False), "USD", codes.DISABLED),
    (state(active=False, expires_at=NOW), "USD", codes.DISABLED),
    (state(expires_at=NOW), "USD", codes.EXPIRED),  # the expiry is exclusive
    (state(expires_at=datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)), "USD", None),
    (state(expires_at=NOW), "EUR", codes.EXPIRED),
    (state(currency="EUR"), "USD", codes.CURRENCY),
])
def test_refusal(voucher, customer_currency, expected):
    assert codes.refusal(voucher, customer_currency=customer_currency, now=NOW) == expected


@pytest.mark.parametrize("typed, expected", [
    ("12345678901234567890", "12345678901234567890"),
    ("1234 5678 9012 3456 7890", "12345678901234567890"),
    ("1234-5678-9012-3456-7890", "12345678901234567890"),
    (" 00000000000000000001 ", "00000000000000000001"),
    ("1234567890123456789", None),  # 19 digits
    ("123456789012345678901", None),  # 21 digits
    ("1234567890123456789a", None),
    ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", None),  # other scripts' digits are not a code
    ("", None),
    ("1" * 65, None),
])
def test_normalize(typed, expected):
    assert codes.normalize(typed) == expected


def test_new_codes_are_20_digits_and_print_in_groups_of_four():
    code = codes.new_code()
    assert len(code) == 20 and code.isdigit()
    assert codes.printable("12345678901234567890") == "1234 5678 9012 3456 7890"
    assert len({codes.new_code() for _ in range(1000)}) == 1000


def test_the_hash_is_keyed():
    a = codes.code_hash("12345678901234567890", b"k1")
    assert a == codes.code_hash("12345678901234567890", b"k1")
    assert a != codes.code_hash("12345678901234567890", b"k2")
    import hashlib
    assert a != hashlib.sha256(b"12345678901234567890").hexdigest()
