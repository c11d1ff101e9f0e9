"""Request bodies decoded as JSON strictly, before any model sees them: what the standard library would let through
and break something later is refused (422) with a stable `code`.

- `invalid_json`: not JSON, or not UTF-8 (RFC 8259), or an integer longer than Python converts;
- `non_finite_number`: `NaN`, `Infinity`, `-Infinity`, or a number too large for a float (`1e400`), which no
  database column or JSON answer can hold;
- `invalid_unicode`: a lone surrogate (`"\\ud83d"`) in any string or key (see `core.text`);
- `json_too_deep`: arrays and objects nested deeper than `MAX_JSON_DEPTH` (no request shape nests more than a few
  levels; deep nesting costs recursion everywhere the value goes).
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.errors import InputRejected
from core.text import has_lone_surrogate

MAX_JSON_DEPTH = 32


class JsonRefused(InputRejected):
    pass


def loads_strict(body: bytes) -> Any:
    """The JSON value of `body`, or `JsonRefused` (422) saying why not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonRefused("invalid_json", f"the body is not UTF-8 (byte {exc.start})") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise _too_deep() from exc
    except JsonRefused:
        raise
    except ValueError as exc:  # json.JSONDecodeError, or an integer past Python's digit limit
        raise JsonRefused("invalid_json", f"the body is not valid JSON: {exc}") from exc
    _check_tree(value)
    return value


def _refuse_constant(name: str) -> float:
    raise JsonRefused("non_finite_number", f"{name} is not a number JSON allows")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise JsonRefused("non_finite_number", f"the number {literal[:40]} is too large")
    return number


def _check_tree(value: Any) -> None:
    """Depth and strings, walked without recursion (the value may be nested as deep as the parser allowed)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if has_lone_surrogate(node):
                raise JsonRefused("invalid_unicode", "text must not contain a lone surrogate (U+D800 to U+DFFF)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children)


def _too_deep() -> JsonRefused:
    return JsonRefused("json_too_deep", f"arrays and objects may be nested at most {MAX_JSON_DEPTH} deep")
