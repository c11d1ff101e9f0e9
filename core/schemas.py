"""Request and answer shapes every domain's API shares: text without NUL characters or lone surrogates, UTC instants,
refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, model_validator

from core.text import has_lone_surrogate

NUL_REFUSED = "text must not contain the NUL character (\\u0000)"
SURROGATE_REFUSED = "text must not contain a lone surrogate (U+D800 to U+DFFF)"


def _text_problem(value: object) -> str | None:
    """Why some string in `value`, however deeply nested, cannot be stored; walked without recursion."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return NUL_REFUSED
            if has_lone_surrogate(node):
                return SURROGATE_REFUSED
        elif isinstance(node, dict):
            pending.extend([*node.keys(), *node.values()])
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return None


def refuse_nul(value: str) -> str:
    """The string, unless it holds a NUL character or a lone surrogate (neither can be stored)."""
    problem = _text_problem(value)
    if problem:
        raise ValueError(problem)
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
    """What every request body shares: no NUL character and no lone surrogate in any string, however deeply nested.
    PostgreSQL text cannot hold the one, UTF-8 cannot encode the other, and nothing a person types needs either, so
    they are refused (422) on every database alike. (A JSON body is already held to this by `core.strict_json`; this
    holds bodies built otherwise: forms, commands.)"""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        problem = _text_problem(data)
        if problem:
            raise ValueError(problem)
        return data


class FieldProblem(BaseModel):
    """One way a request does not fit its documented shape: where (`loc`, e.g. `["body", "display_name"]`) and what."""

    loc: list[str]
    msg: str
    type: str | None = None


class Refusal(BaseModel):
    """Why a request was refused: a stable `code` for programs and a `detail` for people; for `invalid_input`, each
    problem in `errors`."""

    code: str
    detail: str
    errors: list[FieldProblem] | None = None
