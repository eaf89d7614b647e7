"""The v2 "API Keys HTTP API": POST /api-keys, GET /api-keys, DELETE /api-keys/{key_id}.

Shapes from Momento's reference (public-dev-docs `docs/platform/authentication/api-keys-http-api.md`):
POST `{role_id, description, expiry}` (all required; expiry "never" or epoch seconds) answers 200
`{api_key, key_info}`; unknown role -> 404. GET `?limit=1..100&next_token=` answers
`{key_info: [...], next_token}` with `next_token` only when more keys remain (an opaque cursor: the
last key returned, in creation order, so revoking while paging skips nothing). DELETE answers 200 `{}`.
The key object: key_id, account_id, description, role_id, issued_at_epoch_seconds and
expires_at_epoch_seconds (omitted when the key never expires). Errors: `{"code", "message"}` with
the documented labels (`errors.HTTP_CODE`), 503 for injected faults, 405 JSON for a method a path
does not serve.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.momento.credentials import Credential
from local.momento.errors import HTTP_CODE, HTTP_STATUS, Code, MomentoError, denied, invalid, not_found
from local.momento.faults import InjectedFault
from local.momento.roles import RANK, ROLES
from local.momento.state import State

MAX_BODY = 64 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 100


def key_info(cred: Credential) -> dict[str, Any]:
    info: dict[str, Any] = {
        "key_id": cred.key_id,
        "account_id": cred.account,
        "description": cred.description,
        "role_id": cred.role_id,
        "issued_at_epoch_seconds": cred.issued_at,
    }
    if cred.expires_at is not None:
        info["expires_at_epoch_seconds"] = cred.expires_at
    return info


_CURSOR_PREFIX = "after:"


def encode_cursor(last: Credential) -> str:
    """The `next_token` after `last`: the position of the last key returned in creation order, not
    an offset, so keys revoked (or expiring) while a client pages shift nothing and none is skipped
    (Momento documents the token only as opaque; its encoding here is ours)."""
    raw = f"{_CURSOR_PREFIX}{last.serial}:{last.key_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    """The creation serial to continue after; 0 = the first page. A token we did not issue -> 400."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    serial, _, key_id = raw.removeprefix(_CURSOR_PREFIX).partition(":")
    if not raw.startswith(_CURSOR_PREFIX) or not serial.isdigit() or not key_id:
        raise invalid("next_token must come from a previous page")
    return int(serial)


class ApiKeysApi:
    """The HTTP API's logic, independent of the transport (so it is easy to test and reuse)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def _caller(self, authorization: str | None, *, write: bool) -> Credential:
        token = (authorization or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        cred = self.state.authenticate(token or None)
        allowed = cred.grants.manage_keys if write else (cred.grants.manage_keys or cred.grants.read_keys)
        if not allowed:
            raise denied("This key's role may not " + ("manage" if write else "list") + " API keys")
        return cred

    def create(self, authorization: str | None, body: Any) -> dict[str, Any]:
        caller = self._caller(authorization, write=True)
        self.state.charge_auth_quota(caller)
        if not isinstance(body, dict):
            raise invalid("Body must be a JSON object")
        missing = [f for f in ("role_id", "description", "expiry") if f not in body]
        if missing:
            raise invalid(f"Missing required field(s): {', '.join(missing)}")
        role_id = body["role_id"]
        if not isinstance(role_id, str) or not role_id:
            raise invalid("role_id must be a non-empty string")
        if role_id not in ROLES:
            raise not_found(f"No role {role_id!r} on this account")
        if caller.role_id is not None and RANK[role_id] > RANK[caller.role_id]:
            raise denied(f"A {caller.role_id} key may not create a {role_id} key")
        description = body["description"]
        if not isinstance(description, str) or len(description) > 1024:
            raise invalid("description must be a string of at most 1024 characters")
        expiry = body["expiry"]
        if expiry == "never":
            expires_at = None
        elif isinstance(expiry, int) and not isinstance(expiry, bool):
            if expiry <= self.state.clock.now():
                raise invalid("expiry must be in the future")
            expires_at = expiry
        else:
            raise invalid('expiry must be "never" or epoch seconds')
        cred = self.state.credentials.issue_v2(
            caller.account, ROLES[role_id], role_id, description, expires_at, parent=caller.key_id
        )
        return {"api_key": cred.api_key, "key_info": key_info(cred)}

    def list(self, authorization: str | None, query: dict[str, list[str]]) -> dict[str, Any]:
        caller = self._caller(authorization, write=False)
        raw_limit = query.get("limit", [str(DEFAULT_LIMIT)])[0]
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise invalid(f"limit must be an integer within 1..{MAX_LIMIT}")
        limit = int(raw_limit)
        after = decode_cursor(query.get("next_token", [""])[0])
        creds = sorted(self.state.credentials.list_v2(caller.account), key=lambda c: c.serial)
        rest = [c for c in creds if c.serial > after]
        page = rest[:limit]
        answer: dict[str, Any] = {"key_info": [key_info(c) for c in page]}
        if len(rest) > limit:
            answer["next_token"] = encode_cursor(page[-1])
        return answer

    def revoke(self, authorization: str | None, key_id: str) -> None:
        caller = self._caller(authorization, write=True)
        self.state.charge_auth_quota(caller)
        if not key_id:
            raise not_found("No key id")
        self.state.credentials.revoke(caller.account, key_id)


class _Handler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: keys travel in headers
        return

    def _send(
        self, status: int, payload: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, code: Code, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(HTTP_STATUS[code], {"code": HTTP_CODE[code], "message": message}, headers)

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        auth = self.headers.get("Authorization")
        try:
            if path == "/api-keys" and method == "POST":
                api.state.faults.apply("POST /api-keys")
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if content_type != "application/json":
                    raise invalid("Content-Type must be application/json")
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise invalid("Body too large")
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    raise invalid("Body is not valid JSON") from None
                self._send(200, api.create(auth, body))
            elif path == "/api-keys" and method == "GET":
                api.state.faults.apply("GET /api-keys")
                self._send(200, api.list(auth, parse_qs(url.query, keep_blank_values=True)))
            elif path.startswith("/api-keys/") and method == "DELETE":
                api.state.faults.apply("DELETE /api-keys")
                api.revoke(auth, unquote(path[len("/api-keys/") :]))
                self._send(200, {})
            elif path == "/api-keys" or path.startswith("/api-keys/"):
                allowed = "GET, POST" if path == "/api-keys" else "DELETE"
                # The reference: "All errors share a common JSON body"; the status is a guess.
                self._error(
                    Code.METHOD_NOT_ALLOWED,
                    f"Method {method} is not allowed on {url.path} (allowed: {allowed})",
                    {"Allow": allowed},
                )
            else:
                self._error(Code.NOT_FOUND, f"No route for {method} {url.path}")
        except InjectedFault as fault:
            self._error(Code.UNAVAILABLE, str(fault))
        except MomentoError as err:
            self._error(err.code, err.message)
        except Exception as e:  # a bug here must still answer like the real API would
            self._error(Code.INTERNAL, f"internal error: {type(e).__name__}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # Every other method gets the same JSON error body (not http.server's 501 HTML page).
    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (unknown method, malformed request line) as JSON too."""
        label = {400: "Bad Request", 405: "MethodNotAllowed", 501: "MethodNotAllowed"}.get(code)
        status = 405 if code == 501 else code
        # The connection closes after this answer (http.server cannot trust the stream any more), so
        # say so, as http.server's own send_error does: a client would otherwise reuse the
        # connection for its next request and find it dead (seen in CI as a flaky disconnect).
        self.close_connection = True
        self._send(
            status,
            {"code": label or "Bad Request", "message": message or explain or ""},
            {"Connection": "close"},
        )


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: ApiKeysApi) -> None:
        self.api = api
        super().__init__(address, _Handler)


class ApiKeysHttpServer:
    """One listener per host, all on the same port."""

    def __init__(self, state: State, hosts: list[str], port: int = 0) -> None:
        self._api = ApiKeysApi(state)
        self._servers: list[_ApiServer] = []
        self._threads: list[threading.Thread] = []
        for host in hosts:
            srv = _ApiServer((host, port), self._api)
            port = srv.server_address[1]
            self._servers.append(srv)
        self.port = port

    def start(self) -> None:
        for srv in self._servers:
            t = threading.Thread(
                target=srv.serve_forever, args=(0.05,), name="momento-local-http", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
