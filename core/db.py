"""Column types and field helpers shared by every domain's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from core.clock import utcnow


class UtcDateTime(sa.TypeDecorator):
    """A timezone-aware timestamp on every database: SQLite hands back naive values, which are UTC here."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, _dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def timestamp_field(**kwargs: Any) -> Any:
    """A required UTC timestamp column that defaults to now."""
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, **kwargs)


def optional_timestamp_field(**kwargs: Any) -> Any:
    """A UTC timestamp column that stays empty until something happens (delivered, revoked...)."""
    return Field(default=None, sa_type=UtcDateTime, nullable=True, **kwargs)
