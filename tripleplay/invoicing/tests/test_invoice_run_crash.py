"""The invoice run as separate processes: killed with SIGKILL in the middle and run again, it ends
with exactly one invoice per due customer and gapless numbers; on PostgreSQL several processes at once
split the work the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from tripleplay import clock
from tripleplay.invoicing.models import Invoice, InvoicedEntry
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money

N = 30


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def run_command(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "TRIPLEPLAY_CLOCK": "2026-02-01T03:00:00Z"}
    return subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "invoice-run", "--date", "2026-02-01", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


@pytest.fixture
def due_customers(transactional_db, actor, make_customer):
    clock.freeze(datetime(2026, 1, 5, 12, tzinfo=UTC))
    customers = []
    for i in range(N):
        c = make_customer("postpaid", credit_limit_minor=100_000, tax_rate="20")
        post_charge(actor, c, Money(1000 + i, "USD"), description="One-off installation", idempotency_key=f"inst-{i}")
        customers.append(c)
    clock.reset()
    return customers


def assert_exactly_once(customers):
    rows = list(Invoice.objects.order_by("number").values_list("number", "customer_id", "subtotal_minor", "tax_minor"))
    assert [n for n, *_ in rows] == list(range(1, N + 1))  # gapless, nothing twice
    assert sorted(c for _, c, *_ in rows) == sorted(c.pk for c in customers)  # one per customer, none missing
    by_customer = {c: (sub, tax) for _, c, sub, tax in rows}
    for i, c in enumerate(customers):
        sub = 1000 + i
        assert by_customer[c.pk] == (sub, (sub * 2 + 5) // 10)  # 20 %, half-up
    assert LedgerEntry.objects.filter(source="tax").count() == N
    assert InvoicedEntry.objects.count() == 2 * N  # each charge and each tax entry on exactly one invoice


def test_run_killed_mid_way_and_rerun_issues_each_invoice_once(due_customers):
    first = run_command("--batch-size", "4", "--batch-delay", "0.4")
    deadline = time.monotonic() + 60
    while Invoice.objects.count() < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # into the next batch's transaction (numbers taken, nothing committed)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    done = Invoice.objects.count()
    assert 8 <= done < N, first.stdout.read()
    second = run_command()
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert f"{N - done} customers due" in out and f"Issued {N - done} invoices" in out
    assert_exactly_once(due_customers)
    third = run_command()
    out, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and "Issued 0 invoices" in out, out
    assert_exactly_once(due_customers)


@pytest.mark.postgres
def test_several_processes_split_the_run(due_customers):
    # Each batch waits 0.4 s before its commit, so the run (ten batches) lasts longer than the other
    # processes take to start on a loaded machine: with 0.05 s one process could finish alone.
    procs = [run_command("--batch-size", "3", "--batch-delay", "0.4") for _ in range(3)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    issued = [int(o.split("Issued ")[1].split()[0]) for o in outs]
    assert sum(issued) == N and sum(1 for n in issued if n) >= 2, issued  # the work was shared
    assert_exactly_once(due_customers)
    assert date(2026, 2, 1) in set(Invoice.objects.values_list("issue_date", flat=True))


@pytest.mark.postgres
def test_threads_killed_mid_way_and_rerun_issue_each_invoice_once(due_customers):
    """--threads 3: three batch loops in one process (D62); SIGKILL loses every open batch at once, and
    a rerun (two threads) issues each of them once, numbers gapless."""
    first = run_command("--batch-size", "4", "--batch-delay", "0.4", "--threads", "3")
    deadline = time.monotonic() + 60
    while Invoice.objects.count() < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    done = Invoice.objects.count()
    assert 8 <= done < N, first.stdout.read()
    second = run_command("--batch-size", "3", "--threads", "2")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert f"{N - done} customers due" in out and f"Issued {N - done} invoices" in out
    assert_exactly_once(due_customers)
