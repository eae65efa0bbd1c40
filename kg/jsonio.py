"""Reading JSON that a user gives kg (a corpus line, a sidecar, a statements file, a gold file):
one function, depth-bounded, so that deep nesting is a clear error for that input and never a
RecursionError, and undecodable bytes, lone surrogates and malformed JSON are one message each.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Arrays and objects nested deeper than this are refused (kg's own inputs nest four levels at most).
MAX_JSON_DEPTH = 64

_TOKENS = re.compile(rb'"(?:[^"\\]+|\\.)*"|[\[\]{}]')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """Why a JSON text cannot be read, in words for a user (the caller names the file and line and
    says what it expected)."""


def json_depth_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The nesting depth of ``data`` when it is more than ``limit``, else None (strings are skipped;
    the scan runs only when there are enough brackets to be that deep)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    depth = 0
    for m in _TOKENS.finditer(data):
        tok = m.group()
        if tok in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return depth
        elif tok in (b"]", b"}"):
            depth -= 1
    return None


def loads(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, surrogates: bool = True) -> Any:
    """The JSON value of ``data`` (UTF-8 bytes or text). JsonInputError when it is not UTF-8, not
    JSON, nested more than ``max_depth`` levels, or (unless ``surrogates``) holds a lone surrogate
    (``\\ud800``), which no UTF-8 file can hold."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_depth_exceeds(raw, max_depth) is not None:
        raise JsonInputError(f"nested more than {max_depth} levels deep")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonInputError(f"a byte that is not UTF-8 at {exc.start}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(str(exc)) from None
    except RecursionError:  # a bound lower than the caller's stack allows
        raise JsonInputError(f"nested more than {max_depth} levels deep") from None
    if not surrogates and _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise JsonInputError("holds a lone surrogate (\\ud800-\\udfff), which is no character")
    return value


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_SURROGATE.search(value))
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False
