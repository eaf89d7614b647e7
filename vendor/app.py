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
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
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
from vendor.cors import CorsHeaders
from vendor.identity import Identity, identify
from vendor.memory_hits import MemoryHits, Signature
from vendor.outcome_metrics import OutcomeMetrics
from vendor.request_json import BadEventError, event_problem
from vendor.settings import VendorSettings
from vendor.token_label import parse_label
from vendor.vending import Vendor, VendRequest, encode_body, log_vended, parse_request_body

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response

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


Answer = tuple[int, dict[str, Any], dict[str, str] | None]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": code, "message": message}, headers


def error_answer(exc: Exception, settings: VendorSettings) -> Answer:
    """The one mapping of exceptions to HTTP answers, for the token routes and the resolver alike.

    The most specific of the four families in the exception's MRO wins, as Powertools'
    `exception_handler` lookup chooses.
    """
    for family in type(exc).__mro__:
        if family is VendingError and isinstance(exc, VendingError):
            return _vending_error(exc)
        if family is MomentoLimitExceededError and isinstance(exc, MomentoLimitExceededError):
            logger.warning("Momento auth quota exceeded", extra={"error": exc.code})
            retry = {"Retry-After": str(settings.throttled_retry_after_seconds)}
            return _error(429, exc.code, "too many token requests right now; retry later", retry)
        if family is KeyGuardError and isinstance(exc, KeyGuardError):
            return _product_error(exc, settings)
    logger.exception("unexpected failure", extra={"error": type(exc).__name__})
    return _error(500, "internal_error", "the token vending machine failed; see its logs")


def _vending_error(exc: VendingError) -> Answer:
    headers = {"Allow": ALLOWED_METHODS} if isinstance(exc, MethodNotAllowedError) else None
    if isinstance(exc, MintRefusedError):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
        name = "MintBudgetExceeded" if isinstance(exc, MintBudgetExceededError) else "AuthQuotaReserved"
        outcomes.also(name)
    if exc.status >= 500:
        logger.error("vending failed", extra={"error": exc.code})
    return _error(exc.status, exc.code, str(exc), headers)


def _product_error(exc: KeyGuardError, settings: VendorSettings) -> Answer:
    if exc.retryable:
        logger.warning("dependency unavailable", extra={"error": exc.code})
        retry = str(settings.unavailable_retry_after_seconds)
        return _error(503, exc.code, "a dependency is unavailable; retry later", {"Retry-After": retry})
    logger.error("vending failed", extra={"error": exc.code, "detail": str(exc)})
    return _error(500, "internal_error", "the token vending machine failed; see its logs")


def _headers(extra: dict[str, str] | None) -> dict[str, str]:
    """A JSON response's headers as Powertools' `Response(content_type=JSON, headers=...)` has them."""
    headers = {**_NO_STORE, **(extra or {})}
    headers.setdefault("Content-Type", "application/json")
    return headers


def _cors_config(settings: VendorSettings) -> CORSConfig | None:
    from aws_lambda_powertools.event_handler import CORSConfig

    origins = settings.cors_allow_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=list(_allow_headers(settings)),
        max_age=settings.cors_max_age_seconds,
    )


def _allow_headers(settings: VendorSettings) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*settings.cors_allow_headers, *TVM_EXAMPLE_HEADERS]))


def _request_body(event: dict[str, Any], max_body_bytes: int) -> bytes | None:
    """The raw body; one far larger than the limit is refused before it is decoded."""
    body = event.get("body")
    if body is None:
        return None
    # base64 turns 3 bytes into 4 characters (plus padding), UTF-8 never shrinks text.
    if len(body) > (max_body_bytes // 3 + 1) * 4:
        raise PayloadTooLargeError(f"request body is larger than {max_body_bytes} bytes")
    if event.get("isBase64Encoded", False):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("request body is not valid base64") from None
    # surrogatepass: a lone surrogate reaches the JSON decoder as invalid UTF-8 (a 400), not an exception.
    return bytes(body.encode("utf-8", "surrogatepass"))


def token_method(event: dict[str, Any]) -> str | None:
    """ "GET" or "POST" when `event` (already a valid payload 2.0 event) is for a token route.

    The resolver's own matching, narrowed: the method exactly as API Gateway sends it, the path
    as `APIGatewayProxyEventV2.path` computes it (the stage prefix removed unless `$default`).
    Anything else, a lower-case method or an event without a stage included, is the resolver's.
    """
    method = event["requestContext"]["http"]["method"]
    if method not in ("GET", "POST"):
        return None
    stage = event["requestContext"].get("stage")
    if not isinstance(stage, str):
        return None
    path = event["rawPath"]
    if stage != "$default":
        path = path[len("/" + stage) :]
    return method if path in (TOKEN_PATH, ROOT_PATH) else None


class Service:
    """One execution environment's vendor: the token routes answered directly, from memory when
    they can be, and everything else (404, 405, the CORS preflight) by Powertools' resolver."""

    def __init__(self, settings: VendorSettings, vendor: Vendor) -> None:
        self.settings = settings
        self.vendor = vendor
        self.cors = CorsHeaders(
            settings.cors_allow_origins, _allow_headers(settings), settings.cors_max_age_seconds
        )
        self.hits = MemoryHits(vendor, settings.auth_mode)
        self._resolver: APIGatewayHttpResolver | None = None

    @property
    def resolver(self) -> APIGatewayHttpResolver:
        if self._resolver is None:
            self._resolver = build_app(self.settings, self.vendor)
        return self._resolver

    def answer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The answer to any event, never a raise: what the handler returns past its memory."""
        problem = _problem(event)
        if problem is not None:
            logger.warning("not an HTTP API payload 2.0 event", extra={"problem": problem})
            return _plain(400, BadEventError.code, problem)
        try:
            return self.respond(event, context)
        except Exception as exc:  # the resolver itself failed: still a JSON answer, never a raise
            logger.exception("unexpected failure outside the routes", extra={"error": type(exc).__name__})
            return _plain(500, "internal_error", "the token vending machine failed; see its logs")

    def respond(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The answer to a valid payload 2.0 event (`event_problem` found nothing)."""
        method = token_method(event)
        if method is None:
            return self.resolver.resolve(event, context)
        status, body, extra = self._token(event, method, self.hits.signature(event, method))
        return self._build(event, status, body, extra)

    def memory_hit(self, event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """A repeat request answered from memory, or None to go the whole way.

        What the whole way would do for a request whose token is in memory, and nothing less:
        the same response bytes, the same audit line, the same metric line; it skips only the
        work whose result is already known (identity, grant, cache key, response JSON). The
        `Logger` keys get this invocation's context as `inject_lambda_context` would set them.
        """
        if _problem(event) is not None or logger.sampling_rate:
            return None
        method = token_method(event)
        if method is None:
            return None
        signature = self.hits.signature(event, method)
        if signature is None or not self.hits.knows(signature):
            return None  # a first request: nothing done, nothing logged, the whole way decides
        # `inject_lambda_context`'s keys (`build_lambda_context_model`), before anything can log
        # (finding the policy may: "vending policy loaded"); never a cold start here.
        logger.append_keys(
            cold_start=False,
            function_name=context.function_name,
            function_memory_size=context.memory_limit_in_mb,
            function_arn=context.invoked_function_arn,
            function_request_id=context.aws_request_id,
        )
        hit = self.hits.find(signature)
        if hit is None:
            return None
        log_vended(hit.audit, constant=True)
        outcomes.begin()
        outcomes.count("TokensVended")
        return self._build(event, 200, hit.body, None)

    def _token(
        self, event: dict[str, Any], method: str, signature: Signature | None
    ) -> tuple[int, str, dict[str, str] | None]:
        settings = self.settings
        try:
            identity: Identity = identify(event, settings.auth_mode, settings.groups_claim)
            if method == "GET":
                request = VendRequest(label=parse_label(event.get("queryStringParameters")))
            else:
                parsed = parse_request_body(
                    _request_body(event, settings.max_body_bytes), settings.max_body_bytes
                )
                request = dataclasses.replace(parsed, label=parse_label(event.get("queryStringParameters")))
            vended = self.vendor.issue(identity, request)
        except Exception as exc:
            status, error, extra = error_answer(exc, settings)
            return status, encode_body(error), extra
        body = vended.body_json()
        if signature is not None:
            self.hits.remember(signature, vended, body)
        return 200, body, None

    def _build(
        self, event: dict[str, Any], status: int, body: str, extra: dict[str, str] | None
    ) -> dict[str, Any]:
        """`ResponseBuilder.build` for a JSON body on an HTTP API: CORS added to every answer."""
        headers = _headers(extra)
        if self.cors.enabled:
            headers.update(self.cors.for_headers(event.get("headers")))
        return {
            "statusCode": status,
            "body": body,
            "isBase64Encoded": False,
            "headers": headers,
            "cookies": [],
        }


def build_app(settings: VendorSettings, vendor: Vendor) -> APIGatewayHttpResolver:
    """Powertools' resolver with every route and the error mapping: what `Service` answers with
    for everything but the token routes, and the reference its token answers are checked against.

    Imported on first use: the event handler package is about 60 ms of a cold start, and most
    containers never see a request the token routes do not take.
    """
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError

    def respond(answer: Answer) -> Response[str]:
        status, body, extra = answer
        return Response(
            status_code=status,
            content_type="application/json",
            body=encode_body(body),
            headers={**_NO_STORE, **(extra or {})},
        )

    # debug=False whatever POWERTOOLS_DEV says: its debug mode prints every event (bearer tokens
    # in headers) and answers unhandled exceptions with a traceback.
    app = APIGatewayHttpResolver(cors=_cors_config(settings), debug=False)

    def caller() -> Identity:
        return identify(app.current_event.raw_event, settings.auth_mode, settings.groups_claim)

    def label() -> str | None:
        return parse_label(app.current_event.query_string_parameters)

    def get_token() -> Response[str]:
        identity = caller()
        return respond((200, vendor.vend(identity, VendRequest(label=label())), None))

    def post_token() -> Response[str]:
        identity = caller()
        raw = _request_body(app.current_event.raw_event, settings.max_body_bytes)
        request = parse_request_body(raw, settings.max_body_bytes)
        return respond((200, vendor.vend(identity, dataclasses.replace(request, label=label())), None))

    def other_method() -> Response[str]:
        raise MethodNotAllowedError(f"{app.current_event.http_method} is not allowed; use GET or POST")

    for path in (TOKEN_PATH, ROOT_PATH):
        app.get(path)(get_token)
        app.post(path)(post_token)
        # cors=False keeps these methods out of the preflight's Access-Control-Allow-Methods.
        app.route(path, method=["PUT", "PATCH", "DELETE", "HEAD"], cors=False)(other_method)

    @app.not_found
    def not_found(_exc: NotFoundError) -> Response[str]:
        return respond(_error(404, "not_found", f"no route; the token endpoint is {TOKEN_PATH}"))

    def mapped(exc: Exception) -> Response[str]:
        return respond(error_answer(exc, settings))

    # Registered by call, not as decorators: Powertools' decorator is untyped (mypy --strict).
    for family in (VendingError, MomentoLimitExceededError, KeyGuardError, Exception):
        app.exception_handler(family)(mapped)
    return app


#: The built service, once the first request built it (what `memory_hit` needs to exist).
_built: Service | None = None


@functools.cache
def _application() -> Service:
    """Built once per execution environment, on the first request (not at import)."""
    global _built
    from vendor.wiring import build_vendor

    settings = VendorSettings.from_environ()
    if settings.auth_mode == "none":
        logger.warning("AUTH_MODE=none: callers are identified by source IP; development only")
    _built = Service(settings, build_vendor(settings))
    return _built


def outcome_metric(status: int) -> str:
    """The metric counting a response with this status."""
    if status == 200:
        return "TokensVended"
    if status == 429:
        return "VendThrottled"
    if status == 503:
        return "VendUnavailable"
    return "VendRefused" if 400 <= status < 500 else "VendFailed"


#: Inside `handler`: the event of the invocation in progress once `event_problem` passed it.
_NOTHING = object()
_valid_event: object = _NOTHING
_in_handler = False


def _problem(event: Any) -> str | None:
    """`event_problem`, checked once per invocation however many steps ask."""
    global _valid_event
    if _in_handler and event is _valid_event:
        return None
    problem = event_problem(event)
    if problem is None and _in_handler:
        _valid_event = event
    return problem


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Powertools keeps the current event on the resolver and the metrics of one flush in one
    # object, so one invocation at a time. Lambda never overlaps invocations in one environment;
    # local threaded HTTP fronts do.
    global _valid_event, _in_handler
    with _RESOLVE_LOCK:
        _valid_event, _in_handler = _NOTHING, True
        try:
            response: dict[str, Any] = _instrumented(event, context)
        finally:
            _valid_event, _in_handler = _NOTHING, False
    return response


def _dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """From memory when the answer is there, else the whole way (with the Logger's context)."""
    service = _built
    if service is not None and _application.cache_info().currsize:
        try:
            fast = service.memory_hit(event, context)
        except Exception:  # never a failure of its own: the whole way decides what to answer
            fast = None
        if fast is not None:
            return fast
    return _logged(event, context)


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

_logged: Handler = logger.inject_lambda_context(log_event=False)(_counted)


def _instrument(inner: Handler, environ: Mapping[str, str]) -> Handler:
    """An X-Ray subsegment around every invocation, only where Powertools would trace."""
    if tracing_enabled(environ):
        from aws_lambda_powertools import Tracer

        traced: Handler = Tracer().capture_lambda_handler(capture_response=False)(inner)
        return traced
    return inner


_instrumented = _instrument(_dispatch, os.environ)


def _plain(status: int, code: str, message: str) -> dict[str, Any]:
    """A JSON error built without the resolver (which may be what failed)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **_NO_STORE},
        "body": encode_body({"error": code, "message": message}),
    }


def _respond(event: dict[str, Any], context: Any) -> dict[str, Any]:
    problem = _problem(event)
    if problem is not None:
        logger.warning("not an HTTP API payload 2.0 event", extra={"problem": problem})
        return _plain(400, BadEventError.code, problem)
    try:
        service = _application()
    except ConfigError as exc:
        logger.error("invalid configuration", extra={"problems": exc.problems})
        return _plain(500, exc.code, "the token vending machine is misconfigured")
    return service.answer(event, context)


logging.getLogger("botocore").setLevel(logging.WARNING)
