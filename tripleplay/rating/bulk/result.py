"""What the bulk path produces: an import's counts and timings (``BulkResult``) and, inside a chunk,
each record's fields and outcome (``BulkRecord``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tripleplay.rating.services import IngestResult


@dataclass
class BulkResult:
    rows: int = 0
    counts: dict = field(default_factory=lambda: {"rated": 0, "error": 0, "duplicate": 0, "rejected": 0})
    results: list[IngestResult] | None = None
    # read: taking records from the iterable (the CSV reader); commit: the chunk's COMMIT
    seconds: dict = field(default_factory=lambda: {"read": 0.0, "parse": 0.0, "rate": 0.0, "write": 0.0,
                                                   "commit": 0.0})
    entries: int = 0
    detail: dict = field(default_factory=dict)  # seconds of the database steps (in parse, rate, write)


class BulkRecord:
    """One stored record of a chunk: its fields as parsed and, once rated, its outcome."""

    __slots__ = ("ext", "raw", "f", "code", "reason", "account_id", "customer_id", "currency", "rate_id",
                 "terms", "unit", "billed", "keys", "free", "cost", "offpeak", "xdr_id", "entry_id")

    def __init__(self, ext: str, raw: dict):
        self.ext, self.raw = ext, raw
        self.code = self.reason = ""
        self.account_id = self.customer_id = self.rate_id = self.entry_id = self.cost = None
        self.currency = ""
        self.billed = self.free = 0
        self.offpeak = False
        self.keys = ()
