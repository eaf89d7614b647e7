"""`AuditLines` writes what `audit_logger.info(message, extra={"audit": ...})` writes through
Powertools, byte for byte, or goes through `logging` itself when it cannot be sure."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from vendor.audit_lines import AuditLines

PAYLOAD: dict[str, Any] = {
    "caller": "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c",
    "tokenId": "3f1c2a4e/ünïcode ☃",
    "permissions": [{"cache": "tenant-acme", "role": "read_only"}],
    "expiresAt": 1796174598,
    "source": "memory",
    "sharedRule": None,
}
NOW = 1_796_170_998.4567


class Output:
    def __init__(self, name: str, **logger_options: Any) -> None:
        self.stream = io.StringIO()
        self.powertools = Logger(
            service=f"audit-test-{name}", logger_handler=logging.StreamHandler(self.stream), **logger_options
        )
        self.audit = logging.getLogger(f"{name}.audit")
        copy_config_to_registered_loggers(source_logger=self.powertools, include={name})
        self.lines = AuditLines(self.audit)

    def both(self, payload: dict[str, Any] = PAYLOAD) -> tuple[str, str]:
        """The fast line and the `logging` line for the same record, at the same instant."""
        self.stream.seek(0)
        self.stream.truncate()
        self.lines.info("vended token", payload)
        self.audit.info("vended token", extra={"audit": payload})
        written = self.stream.getvalue().splitlines()
        assert len(written) == 2, written
        return written[0], written[1]


def _same_but_location(fast: str, slow: str) -> None:
    fast_log, slow_log = json.loads(fast), json.loads(slow)
    assert fast_log["location"].startswith("both:")
    assert slow_log["location"].startswith("both:")
    # The same bytes once the call site (two lines apart) is the same.
    assert fast.replace(fast_log["location"], "X") == slow.replace(slow_log["location"], "X")


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    "options",
    [{}, {"utc": True}, {"datefmt": "%H:%M:%S.%F"}, {"use_rfc3339": True}, {"xray_trace_id": None}],
    ids=["default", "utc", "datefmt", "rfc3339", "no-xray-key"],
)
def test_the_fast_line_is_the_powertools_line(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = Output(f"fmt{len(options)}{sorted(options)}".replace("'", "").replace(" ", ""), **options)
    _same_but_location(*out.both())
    out.powertools.append_keys(function_request_id="8c9a5b0e-0000-4000-8000-000000000001", cold_start=False)
    _same_but_location(*out.both())
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1"
    )
    _same_but_location(*out.both())
    out.powertools.append_keys(function_request_id='odd "id" \\ with\nnewline')
    _same_but_location(*out.both())


def test_each_second_and_millisecond_formats_as_powertools_does(monkeypatch: pytest.MonkeyPatch) -> None:
    out = Output("clock")
    for now in (NOW, NOW + 0.001, NOW + 0.999, int(NOW) + 1.0, NOW + 86_400 * 180 + 0.5):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        _same_but_location(*out.both())


@pytest.mark.usefixtures("frozen_clock")
def test_a_changed_key_changes_the_line() -> None:
    out = Output("keys")
    out.both()
    out.powertools.append_keys(tenant="acme")
    fast, slow = out.both()
    assert json.loads(fast)["tenant"] == "acme"
    _same_but_location(fast, slow)
    out.powertools.remove_keys(["tenant"])
    fast, slow = out.both()
    assert "tenant" not in json.loads(fast)
    _same_but_location(fast, slow)
    # The same keys and values in another order: the line's order follows.
    out.powertools.append_keys(a="1", b="2")
    out.both()
    out.powertools.remove_keys(["a"])
    out.powertools.append_keys(a="1")
    _same_but_location(*out.both())


@pytest.mark.usefixtures("frozen_clock")
def test_an_unhashable_or_odd_key_value_still_gives_the_same_line() -> None:
    out = Output("odd")
    out.powertools.append_keys(tags=["a", "b"], nested={"x": [1, 2]})
    _same_but_location(*out.both())


def test_below_info_nothing_is_written() -> None:
    out = Output("quiet", level="WARNING")
    out.lines.info("vended token", PAYLOAD)
    assert out.stream.getvalue() == ""


def test_without_one_powertools_handler_the_record_goes_through_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = logging.getLogger("plainaudit.audit")
    plain.propagate = True
    with caplog.at_level(logging.INFO, logger="plainaudit.audit"):
        AuditLines(plain).info("vended token", PAYLOAD)
    records = [r for r in caplog.records if r.name == "plainaudit.audit"]
    assert len(records) == 1
    assert records[0].audit == PAYLOAD  # type: ignore[attr-defined]


@pytest.mark.usefixtures("frozen_clock")
def test_thread_local_keys_and_filters_fall_back_to_logging() -> None:
    out = Output("threadkeys")
    out.powertools.thread_safe_append_keys(job="x")
    try:
        fast, slow = out.both()
        assert json.loads(fast)["job"] == "x"
        _same_but_location(fast, slow)
    finally:
        out.powertools.thread_safe_clear_keys()
    out.audit.addFilter(lambda record: True)
    _same_but_location(*out.both())


@pytest.mark.usefixtures("frozen_clock")
def test_only_a_payload_declared_constant_keeps_its_encoding() -> None:
    out = Output("mutated")
    payload = dict(PAYLOAD)
    out.lines.info("vended token", payload)
    payload["source"] = "minted"
    out.stream.seek(0)
    out.stream.truncate()
    out.lines.info("vended token", payload)
    assert json.loads(out.stream.getvalue())["audit"]["source"] == "minted"
    constant = dict(PAYLOAD)
    out.lines.info("vended token", constant, constant=True)
    out.stream.seek(0)
    out.stream.truncate()
    out.lines.info("vended token", constant, constant=True)
    assert json.loads(out.stream.getvalue())["audit"] == PAYLOAD


@pytest.mark.usefixtures("frozen_clock")
def test_a_key_changed_in_place_or_to_an_equal_value_of_another_type_shows_at_once() -> None:
    """Outside finding F2: the template was kept while `==` said the keys were the same."""
    out = Output("inplace")
    tags = ["a"]
    out.powertools.append_keys(tags=tags, flag=1)
    _same_but_location(*out.both())
    tags.append("b")
    fast, slow = out.both()
    assert json.loads(fast)["tags"] == ["a", "b"]
    _same_but_location(fast, slow)
    for flag in (True, 1.0, 0, False, -0.0, 0.0):
        out.powertools.append_keys(flag=flag)
        fast, slow = out.both()
        assert json.loads(fast)["flag"] == json.loads(slow)["flag"]
        _same_but_location(fast, slow)


@pytest.mark.usefixtures("frozen_clock")
def test_reserved_keys_that_format_varying_record_fields_are_not_frozen() -> None:
    """Outside finding F5: `created="%(created)f"` printed the template's marker time for ever."""
    out = Output("recordfields")
    out.powertools.append_keys(created="%(created)f", msecs="%(msecs)d", process="%(process)d")
    fast, slow = out.both()
    assert json.loads(fast)["created"] == json.loads(slow)["created"] != "220752000.123000"
    _same_but_location(fast, slow)


def test_a_reserved_key_with_the_time_in_it_shows_each_lines_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-check finding N1: `%(asctime)s` inside another reserved key kept the marker time."""
    out = Output("asctime")
    out.powertools.append_keys(location="%(funcName)s:%(lineno)d at %(asctime)s")
    for now in (NOW, NOW + 3600.25):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        fast, slow = out.both()
        assert "1976" not in fast
        assert json.loads(fast)["location"].endswith(json.loads(slow)["location"].split(" at ")[1])


@pytest.mark.usefixtures("frozen_clock")
def test_a_key_logging_cannot_format_is_logging_s_problem_not_the_callers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Re-check finding N2: the template's own format raised out of the vend (a 500); `logging`
    reports a bad format on stderr and goes on."""
    out = Output("badformat")
    out.powertools.append_keys(thread=5, name="%(name)s %")
    out.lines.info("vended token", PAYLOAD)  # must not raise
    assert "Logging error" in capsys.readouterr().err


@pytest.mark.usefixtures("frozen_clock")
def test_a_null_request_id_is_left_out_as_powertools_leaves_it_out() -> None:
    out = Output("nullid")
    out.powertools.append_keys(function_request_id=None)
    fast, slow = out.both()
    assert "function_request_id" not in json.loads(fast)
    _same_but_location(fast, slow)
