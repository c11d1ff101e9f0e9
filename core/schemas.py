"""Request and answer shapes every domain's API shares: bodies without NUL characters, UTC instants, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, model_validator

NUL_REFUSED = "text must not contain the NUL character (\\u0000)"


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REFUSED)
    return value


def as_utc(value: datetime) -> datetime:
    """The instant in UTC; one given without a zone is taken as UTC. Refused when it falls outside the calendar's
    years 1 to 9999 once in UTC (0001-01-01T00:00+01:00, say)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range once converted to UTC") from exc


PlainText = Annotated[str, AfterValidator(refuse_nul)]
"""A string parameter outside a request body (query, form), held to the same rule as `RequestBody`."""
UtcInstant = Annotated[datetime, AfterValidator(as_utc)]
"""Every time the API accepts: a zone-aware instant in UTC, within what the databases can store."""


class RequestBody(BaseModel):
    """What every request body shares: no NUL character in any string, however deeply nested. PostgreSQL text cannot
    hold one and nothing a person types needs one, so it is refused (422) on every database alike."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _holds_nul(data):
            raise ValueError(NUL_REFUSED)
        return data


class Refusal(BaseModel):
    """Why a request was refused: a stable `code` for programs and a `detail` for people."""

    code: str
    detail: str
