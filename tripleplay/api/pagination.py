"""The one pagination of every API list: ``limit`` and ``offset`` bounded before any query (D69).

ninja's own ``LimitOffsetPagination`` leaves ``offset`` unbounded, so a huge one reached PostgreSQL
("bigint out of range", a 500) or SQLite (an OverflowError), or gave a 200 with an empty page for a
list built in Python. Here both are declared in the OpenAPI document and refused with 422 when out of
range.
"""

from __future__ import annotations

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

from tripleplay.api.schemas import MAX_OFFSET


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT,
                           description="items per page")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="items to skip")
