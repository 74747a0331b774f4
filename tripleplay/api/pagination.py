"""The one pagination of every API list: ``limit`` and ``offset`` bounded before any query (D69).

ninja's own ``LimitOffsetPagination`` leaves ``offset`` unbounded, so a huge one reached PostgreSQL
("bigint out of range", a 500) or SQLite (an OverflowError), or gave a 200 with an empty page for a
list built in Python. Here both are declared in the OpenAPI document and refused with 422 when out of
range.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from django.conf import settings
from django.db.models import Q
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import BeforeValidator

from tripleplay.api.schemas import MAX_ID, MAX_OFFSET, Instant
from tripleplay.core.errors import InvalidInput


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT,
                           description="items per page")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="items to skip")


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value):
    # In a query string every value is text, which pydantic would also read as a Unix time ("0.5").
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected a time as RFC 3339 text with an offset, e.g. 2026-03-10T12:00:00Z")
    return value


QueryInstant = Annotated[Instant, BeforeValidator(_rfc3339)]


class CursorPagination(BoundedPagination):
    """The lists that only grow (entries, audit, xDRs in error, provisioning and Disconnect commands,
    invoices, webhook deliveries) also page by an opaque cursor and filter by creation time (D118).

    The order is fixed: by the creation time, then the id (newest first, or oldest first where the list
    is a work queue); ``next_cursor`` names the position after the page's last item (null on the last
    page); sending it back as ``cursor`` gives the next page, stable while rows are added. ``offset``
    still works for existing clients and may not be combined with a cursor. ``count`` is the number of
    items the filters match, whatever the cursor.
    """

    class Input(BoundedPagination.Input):
        cursor: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$",
                                   description="the next_cursor of the previous page")
        created_after: QueryInstant | None = Field(None, description="only items created after this time")
        created_before: QueryInstant | None = Field(None, description="only items created before this time")

    class Output(Schema):
        items: list[Any]
        count: int
        next_cursor: str | None = Field(description="the cursor of the next page; null on the last page")

    def __init__(self, *, created: str, ascending: bool = False,
                 render: Callable[[Any], Any] | None = None, **kwargs) -> None:
        self.created = created
        self.ascending = ascending
        self.render = render
        super().__init__(**kwargs)

    def _by_update(self, pagination) -> bool:
        return False

    def paginate_queryset(self, queryset, pagination: Input, request, **params):
        # A parameter these lists do not know is refused, not ignored: a filter misspelt (or sent in a
        # shape the document does not declare, such as an object exploded into its keys) would
        # otherwise answer the whole, unfiltered list as if it were the filtered one.
        known = set(type(pagination).model_fields) | set(params)
        for value in params.values():  # filters declared as one schema (a ninja Query(...) model)
            known |= set(getattr(type(value), "model_fields", ()))
        unknown = sorted(set(request.GET) - known)
        if unknown:
            raise InvalidInput(f"unknown query parameter {unknown[0]!r}", code="unknown_parameter",
                               details={"field": unknown[0]})
        created = self.created
        qs = queryset
        if pagination.created_after is not None:
            qs = qs.filter(**{f"{created}__gt": _utc(pagination.created_after)})
        if pagination.created_before is not None:
            qs = qs.filter(**{f"{created}__lt": _utc(pagination.created_before)})
        # With an updated_* filter the list is a "what changed since" feed (D251): oldest change
        # first, cursored on (updated_at, id), whatever the list's usual order.
        by_update = self._by_update(pagination)
        key, ascending = (self.updated, True) if by_update else (created, self.ascending)
        if by_update:
            if pagination.updated_after is not None:
                qs = qs.filter(**{f"{key}__gt": _utc(pagination.updated_after)})
            if pagination.updated_before is not None:
                qs = qs.filter(**{f"{key}__lt": _utc(pagination.updated_before)})
        qs = qs.order_by(key, "id") if ascending else qs.order_by(f"-{key}", "-id")
        count = qs.count()
        if pagination.cursor is not None:
            if pagination.offset:
                raise InvalidInput("send either a cursor or an offset, not both", code="cursor_with_offset",
                                   details={"field": "offset"})
            at, pk = decode_cursor(pagination.cursor, updated=by_update)
            after = "gt" if ascending else "lt"
            qs = qs.filter(Q(**{f"{key}__{after}": at}) | Q(**{key: at, f"id__{after}": pk}))
        rows = list(qs[pagination.offset:pagination.offset + pagination.limit + 1])
        more = len(rows) > pagination.limit
        rows = rows[:pagination.limit]
        next_cursor = encode_cursor(getattr(rows[-1], key), rows[-1].pk, updated=by_update) if more else None
        items = [self.render(r) for r in rows] if self.render else rows
        return {"items": items, "count": count, "next_cursor": next_cursor}


class ChangingCursorPagination(CursorPagination):
    """The lists whose rows change after they are written (invoices, IPTV provisioning and RADIUS
    commands, webhook deliveries) also filter by the time of the last change (D250, D251).

    ``updated_after``/``updated_before`` switch the list to the order of a sync feed: by ``updated``
    then id, oldest change first, and its cursor to that position (a cursor of one order is refused
    by the other). A row changed again while a client walks moves behind the walk and is seen again.
    """

    class Input(CursorPagination.Input):
        updated_after: QueryInstant | None = Field(None, description="only items last changed after this time; "
                                                   "the list is then ordered by that time, oldest first")
        updated_before: QueryInstant | None = Field(None, description="only items last changed before this time; "
                                                    "the list is then ordered by that time, oldest first")

    def __init__(self, *, updated: str = "updated_at", **kwargs) -> None:
        self.updated = updated
        super().__init__(**kwargs)

    def _by_update(self, pagination) -> bool:
        return pagination.updated_after is not None or pagination.updated_before is not None


def encode_cursor(at: datetime, pk: int, *, updated: bool = False) -> str:
    position = [at.astimezone(UTC).isoformat(), pk] + (["u"] if updated else [])
    text = json.dumps(position, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, *, updated: bool = False) -> tuple[datetime, int]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(position, list) or position[2:] != (["u"] if updated else []):
            raise ValueError(cursor)  # a cursor of the other order (D251)
        at, pk = position[:2]
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or not isinstance(pk, int) or isinstance(pk, bool) or not 1 <= pk <= MAX_ID:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as e:
        raise InvalidInput("the cursor is not one this list gave", code="invalid_cursor",
                           details={"field": "cursor"}) from e
    return _utc(at), pk


def _utc(at: datetime) -> datetime:
    """``at`` in UTC; a time at the very edge of the calendar (year 1 east of Greenwich, 9999 west)
    becomes the calendar's edge instead of an overflow."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)
