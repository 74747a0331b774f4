"""The services' text rule (D69): what no database stores is refused before any write, whoever calls."""

import pytest

from tripleplay.core.errors import InvalidInput
from tripleplay.core.validation import NUL_MESSAGE, SURROGATE_MESSAGE, text


@pytest.mark.parametrize("value, message", [("a\x00b", NUL_MESSAGE), ("\x00", NUL_MESSAGE),
                                            ("a\ud800", SURROGATE_MESSAGE), ("\udfff b", SURROGATE_MESSAGE)])
def test_text_refuses_what_no_database_stores(value, message):
    with pytest.raises(InvalidInput) as refused:
        text(value, "name")
    assert (refused.value.code, refused.value.message, refused.value.details) == (
        "invalid_input", f"name {message}", {"field": "name"})


def test_text_keeps_any_other_unicode():
    assert text(" Ünïcödé ✓ 😀 \t", "name") == "Ünïcödé ✓ 😀"
