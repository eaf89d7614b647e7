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
import sys
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

#: Stand-ins the rendered template is split at; no real log value looks like these.
_REQUEST_ID_MARK = "\x1fkeyguard-request-id\x1f"
_AUDIT_MARK = "\x1fkeyguard-audit\x1f"
_TRACE_MARK = "1-keyguard-trace-mark"
#: Rendered with this creation time, the formatter's timestamp text is known and can be found.
_MARK_CREATED = 86_400.0 * 365 * 7 + 0.123  # 1977-01-01 00:00:00.123 UTC
_TRACE_ENV = "_X_AMZN_TRACE_ID"


class _Clock:
    """What `formatTime` reads from a record: its creation time and milliseconds."""

    __slots__ = ("created", "msecs")

    def __init__(self, created: float) -> None:
        self.created = created
        self.msecs = int((created - int(created)) * 1000) + 0.0  # as LogRecord computes it


class _Template:
    """The rendered line cut at its variable values: `texts[i]`, slot `slots[i]`, ..., `texts[-1]`."""

    __slots__ = ("slots", "texts")

    def __init__(self, texts: tuple[str, ...], slots: tuple[str, ...]) -> None:
        self.texts = texts
        self.slots = slots


class AuditLines:
    """Writes `audit_logger.info(message, extra={"audit": payload})` lines, fast when it can."""

    def __init__(self, audit_logger: logging.Logger) -> None:
        self._logger = audit_logger
        self._templates: dict[tuple[Any, ...], _Template | None] = {}

    def info(self, message: str, payload: dict[str, Any]) -> None:
        audit_logger = self._logger
        if not audit_logger.isEnabledFor(logging.INFO):
            return
        target = self._powertools_handler()
        if target is None:
            audit_logger.info(message, extra={"audit": payload}, stacklevel=2)
            return
        handler, formatter = target
        caller = sys._getframe(1)
        site = (caller.f_code.co_filename, caller.f_lineno, caller.f_code.co_name)
        log_format = formatter.log_format
        traced = log_format.get("xray_trace_id", "") is not None and bool(os.environ.get(_TRACE_ENV))
        template: _Template | None = None
        try:
            state = tuple((k, v) for k, v in log_format.items() if k != "function_request_id")
            key: tuple[Any, ...] = (
                id(formatter),
                message,
                site,
                traced,
                "function_request_id" in log_format,
                state,
            )
            if key in self._templates:
                template = self._templates[key]
            else:
                template = self._templates[key] = self._render(formatter, message, site, traced)
        except TypeError:  # an unhashable log key value: no template for this state
            template = None
        if template is None:
            audit_logger.info(message, extra={"audit": payload}, stacklevel=2)
            return
        serialize: Callable[[Any], str] = formatter.json_serializer
        values = {
            "time": formatter.formatTime(_Clock(time.time())),  # type: ignore[arg-type]
            "request": serialize(log_format.get("function_request_id")),
            "audit": serialize(payload),
        }
        if traced:
            values["trace"] = serialize(os.environ[_TRACE_ENV].split(";")[0].replace("Root=", ""))
        texts = template.texts
        pieces = [texts[0]]
        for i, slot in enumerate(template.slots):
            pieces.append(values[slot])
            pieces.append(texts[i + 1])
        pieces.append(handler.terminator)
        with handler.lock or _NO_LOCK:
            handler.stream.write("".join(pieces))
            handler.flush()

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


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _has_thread_keys() -> bool:
    """Keys set with `Logger.thread_safe_append_keys` (per thread): the template has no slot for them."""
    try:
        from aws_lambda_powertools.logging.formatter import _get_context
    except ImportError:  # Powertools moved it: assume there are some, and use plain logging
        return True
    return bool(_get_context().get())


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
