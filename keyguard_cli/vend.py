"""`keyguard vend --as CLAIMS.json`: ask the real vendor for a token as a given caller.

Two ways in, both through the deployed code path (handler, policy, audit line, metrics):

- `--url URL` with `--local`: an HTTP request to a local front (`local/api_gateway.py`,
  `sam local start-api`), with an unsigned JWT carrying the claims. Those fronts read the
  claims without verifying them, like API Gateway after its authorizer did; a deployed API
  verifies signatures, so `--url` without `--local` is refused.
- `--function` / `--stack` (AWS): the VendorFunction is invoked with the HTTP API event API
  Gateway would send after its authorizer accepted a caller with these claims, so an operator
  with `lambda:InvokeFunction` sees what that caller gets, without holding its credentials.

The report names the outcome, token id, permissions, expiry and endpoint. The token itself is
never printed: it is a credential, and this command exists to inspect, not to hand one out.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from shared.errors import ConfigError

_SHOWN = ("tokenId", "permissions", "expiresAt", "endpoint")


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.keyguard-cli"


def http_event(claims: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
    """The payload-2.0 event of `GET|POST /token` after an authorizer accepted `claims`."""
    method = "GET" if body is None else "POST"
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"{method} /token",
        "rawPath": "/token",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": "keyguard-cli"},
        "requestContext": {
            "http": {"method": method, "path": "/token", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} /token",
            "stage": "$default",
            "timeEpoch": int(now * 1000),
            # Only the configured AUTH_MODE's part is read (vendor/identity.py).
            "authorizer": {"jwt": {"claims": claims, "scopes": None}, "lambda": claims, "iam": claims},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def summary(status: int, body_text: str) -> dict[str, Any]:
    """What a vend answered, without the token."""
    try:
        body = json.loads(body_text) if body_text else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if status == 200:
        return {"status": status, "outcome": "vended", **{k: body.get(k) for k in _SHOWN}}
    return {
        "status": status,
        "outcome": "refused" if 400 <= status < 500 else "failed",
        "error": body.get("error") or body.get("message"),
        "message": body.get("message"),
    }


def vend_http(
    url: str, claims: dict[str, Any], body: dict[str, Any] | None, timeout: float = 10.0
) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise ConfigError([f"--url: expected http(s)://host[:port]/token, got {url!r}"])
    target = url if url.rstrip("/").endswith("/token") else url.rstrip("/") + "/token"
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {unsigned_jwt(claims)}", "Content-Type": "application/json"}
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(target, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            return summary(response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        with exc:
            return summary(exc.code, exc.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError([f"cannot reach {target}: {reason}"]) from None


def vend_invoke(
    lambda_client: Any, function: str, claims: dict[str, Any], body: dict[str, Any] | None
) -> dict[str, Any]:
    response = lambda_client.invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=json.dumps(http_event(claims, body)).encode(),
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(payload, dict):
        return {"status": None, "outcome": "failed", "error": "the vendor function failed; see its logs"}
    return summary(int(payload.get("statusCode", 500)), str(payload.get("body") or ""))
