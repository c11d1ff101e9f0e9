"""The refusal every input check raises: a stable `code` for programs and a `message` for people."""

from __future__ import annotations


class InputRejected(ValueError):
    status_code = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        """Picklable with both arguments, so a refusal raised in a face worker process reaches the caller."""
        return (self.__class__, (self.code, self.message))
