"""One door to money: only the ledger app names the funds, entries and holds tables in SQL or writes
them through the ORM. Everywhere else in tripleplay/ (migrations and .sql files included, tests
excluded) money moves through ledger.services, ledger.bulk or the ledger's database functions
(ledger/sql), and reads go through the ORM or ledger.selectors."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tripleplay/
LEDGER = ROOT / "ledger"
MODELS = {"Funds", "LedgerEntry", "Hold"}
TABLES = re.compile(r"\bledger_(?:funds|ledgerentry|hold)\b", re.IGNORECASE)
DB_TABLE = re.compile(r"\b(?:Funds|LedgerEntry|Hold)\s*\._meta\s*\.\s*db_table\b")
ORM_WRITES = {"update", "create", "bulk_create", "bulk_update", "delete", "get_or_create", "update_or_create"}
# Set-based writers that take a model (tripleplay.core.bulk): handing them a money model is a write too.
MODEL_WRITERS = {"insert", "take_ids", "update_from_values"}


def _model_manager(node: ast.AST) -> str | None:
    """``Funds`` for ``Funds.objects...`` (any chain of calls and attributes after ``.objects``)."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr == "objects" and isinstance(node.value, ast.Name) and node.value.id in MODELS:
                return node.value.id
            node = node.value
        else:
            return None


def _python_findings(text: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ORM_WRITES and isinstance(func, ast.Attribute) and (model := _model_manager(func.value)):
            found.append(f"line {node.lineno}: {model}.objects ... .{name}(")
        if name in MODEL_WRITERS and any(isinstance(a, ast.Name) and a.id in MODELS for a in node.args):
            found.append(f"line {node.lineno}: {name}() of a money model")
    return found


def findings(path: Path) -> list[str]:
    """What in ``path`` writes money or names a money table outside the ledger."""
    text = path.read_text()
    found = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for pattern in (TABLES, DB_TABLE) for m in pattern.finditer(text)]
    if path.suffix == ".py":
        found += _python_findings(text)
    return found


def scanned_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.suffix in (".py", ".sql") and LEDGER not in p.parents
                  and "tests" not in p.relative_to(ROOT).parts)


def test_only_the_ledger_names_or_writes_the_money_tables():
    files = scanned_files()
    # The scan sees what it must: the apps that move money call the ledger, and their SQL is scanned.
    names = {p.relative_to(ROOT).as_posix() for p in files}
    assert {"rating/bulk/money.py", "invoicing/services.py", "ppv/sql/ppv_authorize_approve.sql",
            "ppv/migrations/0002_db_hot_path.py"} <= names
    offenders = {p.relative_to(ROOT).as_posix(): f for p in files if (f := findings(p))}
    assert offenders == {}


SQL_PLANTED = [
    "UPDATE ledger_funds SET balance_minor = balance_minor - 1 WHERE customer_id = 1;",
    "INSERT INTO LEDGER_HOLD (customer_id) VALUES (1);",
    "COPY ledger_ledgerentry (id) FROM STDIN;",
    "SELECT nextval(pg_get_serial_sequence('ledger_ledgerentry', 'id'));",
]
PYTHON_PLANTED = [
    'cursor.execute("UPDATE ledger_funds SET balance_minor = balance_minor - %s", [1])',
    'sql = f"COPY {connection.ops.quote_name(LedgerEntry._meta.db_table)} FROM STDIN"',
    "Funds.objects.filter(customer_id=1).update(balance_minor=F('balance_minor') - 1)",
    "Funds.objects.filter(\n    customer_id=1,\n).update(held_minor=0)",
    "LedgerEntry.objects.create(customer_id=1, amount_minor=-1)",
    "Hold.objects.bulk_create(holds)",
    "LedgerEntry.objects.filter(pk=1).delete()",
    "bulk.insert(LedgerEntry, columns, rows)",
    "ids = take_ids(LedgerEntry, 3)",
]


@pytest.mark.parametrize(("suffix", "planted"), [(".sql", s) for s in SQL_PLANTED] + [(".py", s) for s in PYTHON_PLANTED])
def test_the_scan_finds_a_planted_write(tmp_path, suffix, planted):
    path = tmp_path / f"planted{suffix}"
    path.write_text(f"# an app outside the ledger\n{planted}\n" if suffix == ".py" else f"-- elsewhere\n{planted}\n")
    assert findings(path)


@pytest.mark.parametrize("harmless", [
    "Funds.objects.get(customer_id=1).available_minor",
    "LedgerEntry.objects.filter(customer_id=1).values_list('id', flat=True)",
    "entries = ledger_selectors.entries_to_invoice([1], cutoff, marked_by=InvoicedEntry, entry=EntryRow)",
    "cursor.execute('SELECT ledger_place_hold(1, 2, 3)')",
    "field = models.ForeignKey(to='ledger.ledgerentry', on_delete=models.PROTECT)",
])
def test_reads_and_calls_through_the_ledger_are_not_findings(tmp_path, harmless):
    path = tmp_path / "harmless.py"
    path.write_text(f"{harmless}\n")
    assert findings(path) == []
