"""Lambda entry point: HTTP API (payload v2) in, JSON out; all logic lives in `vendor.vending`.

Errors are mapped here and nowhere else: `VendingError` subclasses carry their own status,
Momento's quota becomes 429 and any retryable outage 503, both with Retry-After; everything
else is a 500 that says nothing about internals. Tracebacks go to the log, never to the caller.

Metrics (namespace `POWERTOOLS_METRICS_NAMESPACE`, default `MomentoKeyGuard`; dimension
`service`), one count per request by outcome, so alarms can watch quota and outages:
`TokensVended` (200), `VendRefused` (other 4xx), `VendThrottled` (429), `VendUnavailable` (503),
`VendFailed` (500: misconfiguration or a bug). A 429 from the vendor's own quota rules also counts
`MintBudgetExceeded` (a principal's mint budget) or `AuthQuotaReserved` (the rotator's headroom).

Cold start and hot path (docs/design.md, Performance): tracing is wired in only when Powertools
would trace (`tracing_enabled`), because `Tracer()` imports the X-Ray SDK even when disabled (about
a seventh of the vendor's import); the metric line is serialized once per name
(`vendor.outcome_metrics`); boto3 and the Momento SDK are imported by `vendor.wiring` on the first
request, not here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from shared.errors import (
    BadRequestError,
    ConfigError,
    KeyGuardError,
    MethodNotAllowedError,
    MintBudgetExceededError,
    MintRefusedError,
    MomentoLimitExceededError,
    PayloadTooLargeError,
    VendingError,
)
from vendor.identity import Identity, identify
from vendor.outcome_metrics import OutcomeMetrics
from vendor.request_json import BadEventError, event_problem
from vendor.settings import VendorSettings
from vendor.token_label import parse_label
from vendor.vending import Vendor, VendRequest, parse_request_body

#: The template's default; used when POWERTOOLS_METRICS_NAMESPACE is unset (as in the rotator).
DEFAULT_METRICS_NAMESPACE = "MomentoKeyGuard"

logger = Logger(service="keyguard-vendor")
copy_config_to_registered_loggers(source_logger=logger, include={"vendor", "shared"})
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE)
outcomes = OutcomeMetrics(metrics)


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """Powertools' own rule (`Tracer._is_tracer_disabled`): in Lambda, not under SAM/Chalice local,
    and not switched off by POWERTOOLS_TRACE_DISABLED. Checked before anything imports X-Ray."""
    if resolve_truthy_env_var_choice(env=environ.get("POWERTOOLS_TRACE_DISABLED", "false")):
        return False
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


TOKEN_PATH = "/token"
#: Momento's TVM example clients fetch the API root: an alias of TOKEN_PATH.
ROOT_PATH = "/"
ALLOWED_METHODS = "GET, POST"
#: Request headers Momento's TVM example web clients send (Lambda-authorizer variant: username,
#: password; Cognito variant: usergroup, cachename). CORS lets them through so those clients work
#: unchanged; the vendor never reads them (scope comes only from the verified identity).
TVM_EXAMPLE_HEADERS = ("username", "password", "usergroup", "cachename")
_NO_STORE = {"Cache-Control": "no-store"}
_RESOLVE_LOCK = threading.Lock()


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers={**_NO_STORE, **(headers or {})},
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    return _json(status, {"error": code, "message": message}, headers)


def _cors(settings: VendorSettings) -> CORSConfig | None:
    origins = settings.cors_allow_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=list(dict.fromkeys([*settings.cors_allow_headers, *TVM_EXAMPLE_HEADERS])),
        max_age=settings.cors_max_age_seconds,
    )


def _request_body(app: APIGatewayHttpResolver, max_body_bytes: int) -> bytes | None:
    """The raw body; one far larger than the limit is refused before it is decoded."""
    event = app.current_event
    body = event.body
    if body is None:
        return None
    # base64 turns 3 bytes into 4 characters (plus padding), UTF-8 never shrinks text.
    if len(body) > (max_body_bytes // 3 + 1) * 4:
        raise PayloadTooLargeError(f"request body is larger than {max_body_bytes} bytes")
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("request body is not valid base64") from None
    # surrogatepass: a lone surrogate reaches the JSON decoder as invalid UTF-8 (a 400), not an exception.
    return body.encode("utf-8", "surrogatepass")


def build_app(settings: VendorSettings, vendor: Vendor) -> APIGatewayHttpResolver:
    """The resolver with its routes and error mapping, bound to one settings object and vendor."""
    # debug=False whatever POWERTOOLS_DEV says: its debug mode prints every event (bearer tokens
    # in headers) and answers unhandled exceptions with a traceback.
    app = APIGatewayHttpResolver(cors=_cors(settings), debug=False)

    def caller() -> Identity:
        return identify(app.current_event.raw_event, settings.auth_mode, settings.groups_claim)

    def label() -> str | None:
        return parse_label(app.current_event.query_string_parameters)

    def get_token() -> Response[str]:
        identity = caller()
        return _json(200, vendor.vend(identity, VendRequest(label=label())))

    def post_token() -> Response[str]:
        identity = caller()
        request = parse_request_body(_request_body(app, settings.max_body_bytes), settings.max_body_bytes)
        return _json(200, vendor.vend(identity, dataclasses.replace(request, label=label())))

    def other_method() -> Response[str]:
        raise MethodNotAllowedError(f"{app.current_event.http_method} is not allowed; use GET or POST")

    for path in (TOKEN_PATH, ROOT_PATH):
        app.get(path)(get_token)
        app.post(path)(post_token)
        # cors=False keeps these methods out of the preflight's Access-Control-Allow-Methods.
        app.route(path, method=["PUT", "PATCH", "DELETE", "HEAD"], cors=False)(other_method)

    @app.not_found
    def not_found(_exc: NotFoundError) -> Response[str]:
        return _error(404, "not_found", f"no route; the token endpoint is {TOKEN_PATH}")

    def vending_error(exc: VendingError) -> Response[str]:
        headers = {"Allow": ALLOWED_METHODS} if isinstance(exc, MethodNotAllowedError) else None
        if isinstance(exc, MintRefusedError):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
            name = "MintBudgetExceeded" if isinstance(exc, MintBudgetExceededError) else "AuthQuotaReserved"
            outcomes.also(name)
        if exc.status >= 500:
            logger.error("vending failed", extra={"error": exc.code})
        return _error(exc.status, exc.code, str(exc), headers)

    def throttled(exc: MomentoLimitExceededError) -> Response[str]:
        logger.warning("Momento auth quota exceeded", extra={"error": exc.code})
        retry = str(settings.throttled_retry_after_seconds)
        return _error(429, exc.code, "too many token requests right now; retry later", {"Retry-After": retry})

    def product_error(exc: KeyGuardError) -> Response[str]:
        if exc.retryable:
            logger.warning("dependency unavailable", extra={"error": exc.code})
            retry = str(settings.unavailable_retry_after_seconds)
            return _error(503, exc.code, "a dependency is unavailable; retry later", {"Retry-After": retry})
        logger.error("vending failed", extra={"error": exc.code, "detail": str(exc)})
        return _error(500, "internal_error", "the token vending machine failed; see its logs")

    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected failure", extra={"error": type(exc).__name__})
        return _error(500, "internal_error", "the token vending machine failed; see its logs")

    # Registered by call, not as decorators: Powertools' decorator is untyped (mypy --strict).
    app.exception_handler(VendingError)(vending_error)
    app.exception_handler(MomentoLimitExceededError)(throttled)
    app.exception_handler(KeyGuardError)(product_error)
    app.exception_handler(Exception)(unexpected)
    return app


@functools.cache
def _application() -> APIGatewayHttpResolver:
    """Built once per execution environment, on the first request (not at import)."""
    from vendor.wiring import build_vendor

    settings = VendorSettings.from_environ()
    if settings.auth_mode == "none":
        logger.warning("AUTH_MODE=none: callers are identified by source IP; development only")
    return build_app(settings, build_vendor(settings))


def outcome_metric(status: int) -> str:
    """The metric counting a response with this status."""
    if status == 200:
        return "TokensVended"
    if status == 429:
        return "VendThrottled"
    if status == 503:
        return "VendUnavailable"
    return "VendRefused" if 400 <= status < 500 else "VendFailed"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Powertools keeps the current event on the resolver and the metrics of one flush in one
    # object, so one invocation at a time. Lambda never overlaps invocations in one environment;
    # local threaded HTTP fronts do.
    with _RESOLVE_LOCK:
        response: dict[str, Any] = _instrumented(event, context)
    return response


def _counted(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes.begin()
    try:
        response = _respond(event, context)
    except BaseException:
        outcomes.count("VendFailed")  # an exception past the resolver's handlers is a failure too
        raise
    outcomes.count(outcome_metric(int(response["statusCode"])))
    return response


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _instrument(inner: Handler, environ: Mapping[str, str]) -> Handler:
    """Logger context on every line; an X-Ray subsegment only where Powertools would trace."""
    if tracing_enabled(environ):
        from aws_lambda_powertools import Tracer

        inner = Tracer().capture_lambda_handler(capture_response=False)(inner)
    decorated: Handler = logger.inject_lambda_context(log_event=False)(inner)
    return decorated


_instrumented = _instrument(_counted, os.environ)


def _plain(status: int, code: str, message: str) -> dict[str, Any]:
    """A JSON error built without the resolver (which may be what failed)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **_NO_STORE},
        "body": json.dumps({"error": code, "message": message}, separators=(",", ":")),
    }


def _respond(event: dict[str, Any], context: Any) -> dict[str, Any]:
    problem = event_problem(event)
    if problem is not None:
        logger.warning("not an HTTP API payload 2.0 event", extra={"problem": problem})
        return _plain(400, BadEventError.code, problem)
    try:
        app = _application()
    except ConfigError as exc:
        logger.error("invalid configuration", extra={"problems": exc.problems})
        return _plain(500, exc.code, "the token vending machine is misconfigured")
    try:
        return app.resolve(event, context)
    except Exception as exc:  # the resolver itself failed: still a JSON answer, never a raise
        logger.exception("unexpected failure outside the routes", extra={"error": type(exc).__name__})
        return _plain(500, "internal_error", "the token vending machine failed; see its logs")


logging.getLogger("botocore").setLevel(logging.WARNING)
