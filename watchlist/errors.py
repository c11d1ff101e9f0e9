"""The refusal every input check raises: a stable `code` for programs and a `message` for people."""

from __future__ import annotations


class InputRejected(ValueError):
    status_code = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
