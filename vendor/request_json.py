"""Hostile-input-proof JSON and event checks: every malformed input is a 400, never an exception.

Python's `json` turns some inputs into exceptions other than `JSONDecodeError`: nesting deeper
than the interpreter's recursion limit (`"[" * 3000`, 6 KB) raises `RecursionError`; an integer
literal of more than 4,300 digits raises `ValueError` (CPython's int/str conversion limit); and
`"\\ud800"` decodes to a lone surrogate that no UTF-8 encoder (gRPC, the Momento SDK, our logs)
accepts, so it failed later as the SDK's `UNKNOWN_ERROR`, a 503 that no retry can fix.
`load_json` refuses all three up front, with messages that say which.

`event_problem` checks that an invocation has the shape API Gateway's HTTP API sends with
payload format 2.0; anything else (a test console event, payload 1.0, a non-string header)
is answered 400 `bad_event` instead of crashing the resolver.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import BadRequestError

#: Longest integer literal accepted (any Momento TTL or count fits in 19 digits).
MAX_INT_DIGITS = 19


class BadEventError(BadRequestError):
    code = "bad_event"


def _small_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequestError(f"request body has an integer literal longer than {MAX_INT_DIGITS} digits")
    return int(literal)


def _no_constant(name: str) -> Any:
    raise BadRequestError(f"request body uses {name}, which is not JSON")


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_text(value: Any) -> bool:
    """A string that UTF-8 can carry (no lone surrogate). ASCII is, without encoding it: a
    surrogate is not ASCII, and `isascii` reads a flag the string already carries."""
    return isinstance(value, str) and (value.isascii() or _encodes(value))


def load_json(body: bytes) -> Any:
    """Parse a request body; `BadRequestError` for anything that is not plain, valid JSON text."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_int=_small_int, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequestError("request body is nested too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequestError("request body is not valid JSON") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError("request body contains a lone surrogate (invalid Unicode)") from None
    except (RecursionError, ValueError):
        raise BadRequestError("request body is nested too deeply") from None
    return value


def _string_map(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    try:  # one C-level pass for the usual all-ASCII map (no lone surrogate is ASCII)
        if "".join(value).isascii() and "".join(value.values()).isascii():
            return True
    except TypeError:  # a key or value that is not a string
        return False
    # `is_text` of every key and value, inlined: this runs for every header of every request.
    for key, item in value.items():
        if not (isinstance(key, str) and isinstance(item, str)):
            return False
        if not (key.isascii() or _encodes(key)) or not (item.isascii() or _encodes(item)):
            return False
    return True


def event_problem(event: Any) -> str | None:
    """Why `event` is not an HTTP API payload 2.0 request, or None when it is one."""
    if not isinstance(event, dict):
        return "the event is not a JSON object"
    if event.get("version") != "2.0":
        return "the event is not an HTTP API payload format 2.0 request"
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or not is_text(http.get("method")) or not is_text(http.get("path")):
        return "the event has no requestContext.http method and path"
    if not is_text(event.get("rawPath")):
        return "the event has no rawPath"
    # Powertools' resolver reads the stage for every path: without one it raised a KeyError (a 500).
    if not (isinstance(context, dict) and is_text(context.get("stage"))):
        return "the event has no requestContext.stage"
    for name in ("headers", "queryStringParameters", "pathParameters", "stageVariables"):
        if not _string_map(event.get(name)):
            return f"the event's {name} is not a map of strings"
    cookies = event.get("cookies")
    if cookies is not None and not (isinstance(cookies, list) and all(is_text(c) for c in cookies)):
        return "the event's cookies are not a list of strings"
    if "rawQueryString" in event and not isinstance(event["rawQueryString"], str):
        return "the event's rawQueryString is not a string"
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        return "the event's body is not a string"
    if not isinstance(event.get("isBase64Encoded", False), bool):
        return "the event's isBase64Encoded is not a boolean"
    return None
