"""The audit line of a vend, in Powertools' JSON log format, without a `LogRecord` per line.

`logging` + Powertools' formatter cost about 110 µs per audit line on this machine: a
`LogRecord`, a copy of its `__dict__`, every log key resolved, `strftime`, one JSON encoding of
the whole line. That was most of a cached vend. Between two vends the line differs only in four
places: the timestamp, the request id, the audit object and the X-Ray trace id. `AuditLines`
therefore asks the very formatter that prints the other log lines (the Powertools handler the
audit logger writes to) to format one record with markers in those places, keeps the text around
them, and per vend writes that text with the four values filled in through the formatter's own
serializer and clock format. The result is the line `audit_logger.info(message, extra=...)` would
write, byte for byte (`tests/vendor/test_audit_lines.py` compares them), in about 5 µs.

The template is re-rendered whenever anything it was made of changes: the formatter's keys (what
`Logger.append_keys` and `inject_lambda_context` set, other than the request id), the call site,
the message. Whenever the output is not plainly one Powertools handler with no filters (pytest's
`caplog`, a user's extra handler, thread-local keys, a custom serializer that drops the markers),
the line goes through `logging` as before.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

try:
    from aws_lambda_powertools.logging.formatter import _get_context
except ImportError:  # pragma: no cover  (a Powertools that moved it: plain logging)
    _get_context = None  # type: ignore[assignment]

#: Stand-ins the rendered template is split at; no real log value looks like these.
_REQUEST_ID_MARK = "\x1fkeyguard-request-id\x1f"
_AUDIT_MARK = "\x1fkeyguard-audit\x1f"
_TRACE_MARK = "1-keyguard-trace-mark"
#: Rendered with this creation time, the formatter's timestamp text is known and can be found.
_MARK_CREATED = 86_400.0 * 365 * 7 + 0.123  # 1976-12-30 00:00:00.123 UTC
_TRACE_ENV = "_X_AMZN_TRACE_ID"


class _Clock:
    """What `formatTime` reads from a record: its creation time and milliseconds."""

    __slots__ = ("created", "msecs")

    def __init__(self, created: float) -> None:
        self.created = created
        self.msecs = int((created - int(created)) * 1000) + 0.0  # as LogRecord computes it


_ABSENT: Any = object()
_MAX_ENCODED = 10_000
#: What a JSON encoder writes unchanged between quotes (Lambda request ids are UUIDs).
_PLAIN = re.compile(r"[0-9A-Za-z-]{1,128}")


def _quoted(value: Any) -> str | None:
    """The JSON text of a plain identifier string without calling the encoder, else None."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return f'"{value}"'
    return None


class _SecondClock:
    """`formatter.formatTime`, computed once per second for Powertools' default format.

    The default (no `datefmt`: `%Y-%m-%d %H:%M:%S,%F%z`) differs within one second only in its milliseconds,
    so the text around them is kept per second; it is checked against `formatTime` itself
    when made, and any other format (or a check that fails) calls `formatTime` every time.
    """

    def __init__(self) -> None:
        self._second = -1
        self._formatter: object = None
        self._around: tuple[str, str] | None = None

    def text(self, formatter: LambdaPowertoolsFormatter, now: float) -> str:
        second = int(now)
        if second != self._second or formatter is not self._formatter:
            self._second, self._formatter = second, formatter
            self._around = self._split(formatter, second)
        around = self._around
        if around is None:
            return formatter.formatTime(_Clock(now))  # type: ignore[arg-type]
        return f"{around[0]}{int((now - second) * 1000):03d}{around[1]}"  # LogRecord's msecs

    @staticmethod
    def _split(formatter: LambdaPowertoolsFormatter, second: int) -> tuple[str, str] | None:
        if formatter.datefmt is not None or formatter.use_rfc3339_iso8601:
            return None
        text = formatter.formatTime(_Clock(float(second)))  # type: ignore[arg-type]
        at = text.find(",000")
        if at < 0 or text.count(",000") != 1:
            return None
        around = (text[: at + 1], text[at + 4 :])
        probe = formatter.formatTime(_Clock(second + 0.5))  # type: ignore[arg-type]
        return around if probe == f"{around[0]}500{around[1]}" else None


class _Template:
    """The rendered line with `{time}`, `{request}`, `{audit}` and `{trace}` where its variable
    values go (a `str.format` pattern: the line's own braces doubled)."""

    __slots__ = ("pattern",)

    def __init__(self, texts: tuple[str, ...], slots: tuple[str, ...]) -> None:
        escaped = [text.replace("{", "{{").replace("}", "}}") for text in texts]
        pattern = escaped[0]
        for slot, text in zip(slots, escaped[1:], strict=True):
            pattern += "{" + slot + "}" + text
        self.pattern = pattern


class AuditLines:
    """Writes `audit_logger.info(message, extra={"audit": payload})` lines, fast when it can."""

    def __init__(self, audit_logger: logging.Logger) -> None:
        self._logger = audit_logger
        #: Templates per (message, call site, traced), for the formatter state they were made in.
        self._templates: dict[tuple[Any, ...], _Template | None] = {}
        #: The formatter and a copy of its keys when the templates were made.
        self._seen: tuple[LambdaPowertoolsFormatter, dict[str, Any]] | None = None
        #: The JSON of payloads handed in again and again (a memory hit's), by identity.
        self._encoded: dict[int, tuple[object, object, str]] = {}
        self._clock = _SecondClock()

    def info(self, message: str, payload: dict[str, Any], *, constant: bool = False) -> None:
        """`constant`: this very dict is handed in again, unchanged, for every line it is in (its
        JSON is then kept): a memory hit's audit object."""
        audit_logger = self._logger
        if not audit_logger.isEnabledFor(logging.INFO):
            return
        target = self._powertools_handler()
        if target is None:
            audit_logger.info(message, extra={"audit": payload}, stacklevel=2)
            return
        handler, formatter = target
        log_format = formatter.log_format
        request_id = log_format.get("function_request_id", _ABSENT)
        if request_id is None:  # Powertools drops a None key from the line: no slot for that
            audit_logger.info(message, extra={"audit": payload}, stacklevel=2)
            return
        if not self._same_state(formatter, log_format, request_id):
            self._templates.clear()
            self._seen = (formatter, dict(log_format))
        caller = sys._getframe(1)
        traced = log_format.get("xray_trace_id", "") is not None and bool(os.environ.get(_TRACE_ENV))
        key = (
            message,
            caller.f_code.co_filename,
            caller.f_lineno,
            traced,
            logging.getLevelName(logging.INFO),
        )
        template = self._templates.get(key, _ABSENT)
        if template is _ABSENT:
            site = (caller.f_code.co_filename, caller.f_lineno, caller.f_code.co_name)
            template = self._templates[key] = self._render(formatter, message, site, traced)
        if not isinstance(template, _Template):
            audit_logger.info(message, extra={"audit": payload}, stacklevel=2)
            return
        serialize: Callable[[Any], str] = formatter.json_serializer
        values = {
            "time": self._clock.text(formatter, time.time()),
            "request": _quoted(request_id) or serialize(request_id),
            "audit": self._encode(serialize, payload) if constant else serialize(payload),
        }
        if traced:
            values["trace"] = serialize(os.environ[_TRACE_ENV].split(";")[0].replace("Root=", ""))
        line = template.pattern.format_map(values) + handler.terminator
        with handler.lock or _NO_LOCK:
            handler.stream.write(line)
            handler.flush()

    def _same_state(
        self, formatter: LambdaPowertoolsFormatter, log_format: dict[str, Any], request_id: Any
    ) -> bool:
        """Are the formatter's keys, all but the request id, exactly what the templates were made
        with: same names in the same order, values of the same type and JSON (`1`, `1.0` and
        `True` are equal in Python, not in a log line: outside finding F2)."""
        if self._seen is None or self._seen[0] is not formatter:
            return False
        seen = self._seen[1]
        if len(seen) != len(log_format):
            return False
        for (name, was), (now_name, now) in zip(seen.items(), log_format.items(), strict=True):
            if name != now_name:
                return False
            if name != "function_request_id" and not _same_value(was, now):
                return False
        return True

    def _encode(self, serialize: Callable[[Any], str], payload: dict[str, Any]) -> str:
        """`serialize(payload)`, remembered for a constant payload object seen before."""
        known = self._encoded.get(id(payload))
        if known is not None and known[0] is payload and known[1] is serialize:
            return known[2]
        text = serialize(payload)
        if len(self._encoded) >= _MAX_ENCODED:
            self._encoded.clear()
        self._encoded[id(payload)] = (payload, serialize, text)
        return text

    def _powertools_handler(self) -> tuple[logging.StreamHandler[Any], LambdaPowertoolsFormatter] | None:
        """The one Powertools stream handler this logger's INFO lines reach, if that is all they reach."""
        found: list[logging.Handler] = []
        current: logging.Logger | None = self._logger
        while current is not None:
            if current.filters:
                return None
            found.extend(current.handlers)
            if not current.propagate:
                break
            current = current.parent
        if len(found) != 1:
            return None
        handler = found[0]
        formatter = handler.formatter
        if (
            type(handler) is not logging.StreamHandler
            or handler.filters
            or handler.level > logging.INFO
            or not isinstance(formatter, LambdaPowertoolsFormatter)
            or _has_thread_keys()
        ):
            return None
        return handler, formatter

    def _render(
        self, formatter: LambdaPowertoolsFormatter, message: str, site: tuple[str, int, str], traced: bool
    ) -> _Template | None:
        """Format one marked record with the live formatter and cut it at the markers."""
        if not _plain_keys(formatter.log_format):
            return None
        record = self._logger.makeRecord(
            self._logger.name,
            logging.INFO,
            site[0],
            site[1],
            message,
            (),
            None,
            site[2],
            extra={"audit": _AUDIT_MARK},
        )
        record.created = _MARK_CREATED
        record.msecs = _Clock(_MARK_CREATED).msecs
        serialize: Callable[[Any], str] = formatter.json_serializer
        marks = {"time": serialize(formatter.formatTime(record)), "audit": serialize(_AUDIT_MARK)}
        log_format = formatter.log_format
        has_id = "function_request_id" in log_format
        saved_id = log_format.get("function_request_id")
        saved_trace = os.environ.pop(_TRACE_ENV, None)
        if has_id:
            log_format["function_request_id"] = _REQUEST_ID_MARK
            marks["request"] = serialize(_REQUEST_ID_MARK)
        if traced:
            os.environ[_TRACE_ENV] = f"Root={_TRACE_MARK};Parent=0;Sampled=0"
            marks["trace"] = serialize(_TRACE_MARK)
        try:
            text = formatter.format(record)
        except Exception:  # a key `logging` cannot format either: let `logging` report it (N2)
            return None
        finally:
            if has_id:
                log_format["function_request_id"] = saved_id
            os.environ.pop(_TRACE_ENV, None)
            if saved_trace is not None:
                os.environ[_TRACE_ENV] = saved_trace
        found = sorted((text.find(mark), slot) for slot, mark in marks.items())
        if any(at < 0 or text.count(marks[slot]) != 1 for at, slot in found):
            return None  # a formatter or serializer this cannot follow: plain logging instead
        texts: list[str] = []
        slots: list[str] = []
        at = 0
        for start, slot in found:
            mark = marks[slot]
            if slot == "time":  # the timestamp slot is the text inside the quotes
                start, mark = start + 1, mark[1:-1]
            if start < at:
                return None
            texts.append(text[at:start])
            slots.append(slot)
            at = start + len(mark)
        texts.append(text[at:])
        if not _is_json_object(text):
            return None
        return _Template(tuple(texts), tuple(slots))


def _same_value(was: Any, now: Any) -> bool:
    """Equal as a JSON value, for the plain scalars a template is ever made with (`_plain_keys`)."""
    kind = type(was)
    if kind is not type(now):
        return False
    if kind is float:
        return repr(was) == repr(now)  # -0.0 == 0.0, but they print differently
    return bool(was == now)


#: LogRecord fields that are the same for every line of one message at one call site (in one
#: process); a reserved key that formats any other (`%(created)f`, `%(thread)d`, `%(asctime)s`
#: anywhere but the timestamp slot: re-check finding N1) varies per line.
_CONSTANT_FIELDS = frozenset(
    {"name", "levelname", "levelno", "pathname", "filename", "module", "lineno", "funcName"}
    | {"process", "processName"}
)
_FIELD = re.compile(r"%\((\w+)\)")
_SCALAR_TYPES = (str, int, float, bool, type(None))


def _plain_keys(log_format: dict[str, Any]) -> bool:
    """Can a template stand for these keys? Only immutable scalars (a list appended to in place
    would go stale: outside finding F2) and, in reserved keys, only per-site record fields (F5)."""
    for name, value in log_format.items():
        if name == "function_request_id":
            continue
        if type(value) not in _SCALAR_TYPES:
            return False
        formatted = name in RESERVED_LOG_ATTRS and isinstance(value, str)
        if formatted and not _CONSTANT_FIELDS.issuperset(_FIELD.findall(value)):
            return False
    return True


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _has_thread_keys() -> bool:
    """Keys set with `Logger.thread_safe_append_keys` (per thread): the template has no slot for them."""
    if _get_context is None:  # Powertools moved it: assume there are some, and use plain logging
        return True
    return bool(_get_context().get())


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
