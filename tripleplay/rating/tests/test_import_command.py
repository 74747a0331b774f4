"""``tripleplay import-xdrs`` end to end on a small generated CSV file."""

from __future__ import annotations

import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tripleplay import cli
from tripleplay.ledger.selectors import funds_of
from tripleplay.rating.models import Xdr

from .conftest import PHONE


def run(*args) -> str:
    out = StringIO()
    call_command("import-xdrs", *args, stdout=out)
    return out.getvalue()


def write_calls(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, ["id", "started_at", "caller", "callee", "duration_seconds"])
        w.writeheader()
        w.writerows(rows)


def test_import_rates_a_file_with_progress_and_summary(world, tmp_path):
    at = "2026-03-10T12:00:00+00:00"
    rows = [{"id": "c0", "started_at": at, "caller": PHONE, "callee": "15559999", "duration_seconds": 600}]
    rows += [{"id": f"c{i}", "started_at": at, "caller": PHONE, "callee": "15559999", "duration_seconds": 61}
             for i in range(1, 1200)]  # 1,199 calls at 0.20 once the 10 free minutes are gone
    rows += [{"id": f"x{i}", "started_at": at, "caller": "15550009", "callee": "1555", "duration_seconds": 5}
             for i in range(3)]  # unknown caller
    rows += [rows[1], rows[2]]  # duplicates
    path = tmp_path / "calls.csv"
    write_calls(path, rows)

    out = run(str(path), "--service", "voice", "--chunk-size", "1000")
    assert "1000 rows processed" in out and "1205 rows processed" in out and "100%" in out
    assert out.strip().splitlines()[-1] == "done: 1205 rows, rated 1200, errors 3, duplicates 2, rejected 0"
    assert funds_of(world.customer).balance.minor == -1199 * 20
    assert Xdr.objects.filter(status="error", error_code="unknown_account").count() == 3

    again = run(str(path), "--service", "voice")  # a re-import charges nothing twice
    assert again.strip().splitlines()[-1] == "done: 1205 rows, rated 0, errors 0, duplicates 1205, rejected 0"
    assert funds_of(world.customer).balance.minor == -1199 * 20


def test_rows_without_a_service_are_errors_not_dropped(world, tmp_path):
    path = tmp_path / "calls.csv"
    write_calls(path, [{"id": "n1", "started_at": "2026-03-10T12:00:00Z", "caller": PHONE, "callee": "1555",
                        "duration_seconds": 1}])
    assert run(str(path)).strip().endswith("rated 0, errors 1, duplicates 0, rejected 0")
    assert Xdr.objects.get(external_id="n1").error_code == "invalid_field"


def test_bad_chunk_size_fails(db, tmp_path):
    path = tmp_path / "calls.csv"
    write_calls(path, [])
    with pytest.raises(CommandError, match="chunk-size"):
        run(str(path), "--chunk-size", "0")


def test_unreadable_file_fails(db, tmp_path, capsys):
    with pytest.raises(CommandError, match="cannot read"):
        run(str(tmp_path / "missing.csv"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["import-xdrs", str(tmp_path / "missing.csv")])
    assert exit_.value.code == 1
    assert "cannot read" in capsys.readouterr().err


def test_rows_read_like_csv_dictreader(tmp_path):
    from importlib import import_module

    rows = import_module("tripleplay.rating.management.commands.import-xdrs")._rows
    text = "id,service_type,count\na,voice,1\n\nb,data\nc,messaging,2,extra,more\n"
    path = tmp_path / "x.csv"
    path.write_text(text)
    with open(path, newline="") as f:
        expected = list(csv.DictReader(f))
    with open(path, newline="") as f:
        assert list(rows(csv.reader(f))) == expected
    assert expected[1] == {"id": "b", "service_type": "data", "count": None}
    assert expected[2][None] == ["extra", "more"]
