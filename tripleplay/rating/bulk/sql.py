"""The bulk path's own rows as written (column -> PostgreSQL type) and their encodings. The helpers
that write and read them (binary COPY, ids reserved ahead, "is one of" lookups) know no table and live
in tripleplay.core.bulk; the ledger's rows are the ledger's (tripleplay.ledger.bulk)."""

from __future__ import annotations

import json
from datetime import date

from tripleplay.core.bulk import BOOL, INT4, INT8, JSONB, TEXT, TIMESTAMPTZ

XDR_COLUMNS = {"id": INT8, "source": TEXT, "external_id": TEXT, "service_type": TEXT, "account_id": INT8,
               "caller": TEXT, "callee": TEXT, "login": TEXT, "bytes": INT8, "count": INT4, "destination": TEXT,
               "started_at": TIMESTAMPTZ, "duration_seconds": INT4, "raw": JSONB, "status": TEXT, "error_code": TEXT,
               "error_reason": TEXT, "rate_id": INT8, "billed_quantity": INT8, "allowance_used": INT8,
               "offpeak": BOOL, "cost_minor": INT8, "currency": TEXT, "ledger_entry_id": INT8,
               "received_at": TIMESTAMPTZ, "rated_at": TIMESTAMPTZ}
# The pipeline's xDR COPY: the raw column's values given as binary jsonb already encoded (version byte 1,
# then the JSON text), sent as they are ("bytea" only tells the driver not to encode them; in a binary
# COPY the server reads every field with the receive function of the column's own type, jsonb here).
# Encoding "{}" once instead of once per rated row is about a fifth of formatting the rows.
COPY_XDR_COLUMNS = {**XDR_COLUMNS, "raw": "bytea"}
JSONB_EMPTY = b"\x01{}"


def jsonb_bytes(value) -> bytes:
    return b"\x01" + json.dumps(value).encode()


USAGE_COLUMNS = {"id": INT8, "assignment_id": INT8, "allowance_id": INT8, "period_index": INT4, "period_start": "date",
                 "period_end": "date", "granted": INT8, "used": INT8}


def as_date(value):
    """A DATE column as a date (SQLite's raw cursor answers text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value
