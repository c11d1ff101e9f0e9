"""One error hierarchy for every domain: each error carries the HTTP status it answers with and a stable `code`
for programs beside a `message` for people. The API turns any `AppError` into `{"code", "detail"}`; the CLI prints
its message and exits non-zero."""

from __future__ import annotations

import math
from typing import Any


class AppError(Exception):
    """The base of every expected failure. Subclasses set `status_code`; `headers` go with the HTTP answer."""

    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def headers(self) -> dict[str, str] | None:
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable with its fields, so an error raised in a face worker process reaches the caller intact."""
        return (_rebuild, (self.__class__, self.__dict__.copy()))


def _rebuild(cls: type[AppError], state: dict[str, Any]) -> AppError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class InputRejected(AppError, ValueError):
    """The input was refused (422): a file that is not an image, a face too small, a bad cursor."""

    status_code = 422


class TooLarge(InputRejected):
    """The input is over a size cap (413)."""

    status_code = 413


class NotFound(AppError, LookupError):
    """The object does not exist, or is not the caller's to see (404, never 403, so ids do not leak)."""

    status_code = 404

    def __init__(self, message: str, code: str = "not_found") -> None:
        super().__init__(code, message)


class Conflict(AppError):
    """The request clashes with what exists (409): a duplicate, a used invitation."""

    status_code = 409


class Unauthenticated(AppError):
    """No key, or a key that is unknown, revoked or expired (401)."""

    status_code = 401

    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    """The caller is known but its role may not do this (403)."""

    status_code = 403


class RateLimited(AppError):
    """Too many requests (429); `Retry-After` says when to come back."""

    status_code = 429

    def __init__(self, code: str, message: str, retry_after_seconds: float = 1.0) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = retry_after_seconds

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_seconds)))}
