"""Queries per portal page (the bench's pages and the PPV list): a fixed number, whatever the number of
accounts, products, invoices and payments the customer has (no query per row: bench/RESULTS.md,
"Self-care portal"). A page that needs one more query changes the number here, on purpose."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tripleplay.selfcare.tests.conftest import with_ppv

# page -> queries: the session (1) and the page's own reads
QUERIES = {
    "/my/": 8,  # session, open invoices, funds, latest payments, accounts, their products, their packages, their holds
    "/my/services/": 7,  # session, accounts, products, packages, holds, self-service offers, their packages
    "/my/invoices/": 2,  # session, invoices
    "/my/payments/": 2,  # session, entries
    "/my/usage/": 3,  # session, xDRs, PPV purchases
    "/my/ppv/": 3,  # session, subscribers with their accounts and platforms, events with their platforms
}


def _counts(client) -> dict[str, int]:
    out = {}
    for url in QUERIES:
        assert client.get(url).status_code == 200  # warm: the once-a-minute session activity write is done
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        out[url] = len(captured.captured_queries)
    return out


@pytest.mark.parametrize("accounts", [1, 3])
def test_each_portal_page_runs_a_fixed_number_of_queries(portal, actor, make_account, accounts):
    from tripleplay.invoicing.services import issue_out_of_turn
    from tripleplay.ledger.services import post_charge, record_payment
    from tripleplay.money import Money

    with_ppv(portal)
    ada = portal.ada
    for i in range(1, accounts):
        make_account(ada.customer, addon_plans=[portal.catalog.sports_plan, portal.catalog.movies_plan],
                     login=f"ada-tv-{i}")
    for i in range(accounts):
        record_payment(actor, ada.customer, Money(100, "USD"), idempotency_key=f"extra-{i}")
        post_charge(actor, ada.customer, Money(100, "USD"), description="fee", idempotency_key=f"fee-{i}")
        issue_out_of_turn(actor, ada.customer)
    assert _counts(ada.client) == QUERIES
