"""The v2 "API Keys HTTP API": POST /api-keys, GET /api-keys, DELETE /api-keys/{key_id}.

Errors are JSON `{"code", "message"}` with 400/401/403/404/429/500 (503 for injected faults).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.momento.credentials import Credential
from local.momento.errors import HTTP_STATUS, Code, MomentoError, denied, invalid, not_found
from local.momento.faults import InjectedFault
from local.momento.roles import ROLES
from local.momento.state import State

MAX_BODY = 64 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def key_info(cred: Credential) -> dict[str, Any]:
    return {
        "key_id": cred.key_id,
        "role_id": cred.role_id,
        "description": cred.description,
        "issued_at_epoch_seconds": cred.issued_at,
        "expires_at_epoch_seconds": cred.expires_at,
    }


class ApiKeysApi:
    """The HTTP API's logic, independent of the transport (so it is easy to test and reuse)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def _caller(self, authorization: str | None) -> Credential:
        token = (authorization or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        cred = self.state.authenticate(token or None)
        if not cred.grants.manage_keys:
            raise denied("This key's role may not manage API keys")
        return cred

    def create(self, authorization: str | None, body: Any) -> dict[str, Any]:
        caller = self._caller(authorization)
        self.state.charge_auth_quota(caller)
        if not isinstance(body, dict):
            raise invalid("Body must be a JSON object")
        role_id = body.get("role_id")
        if role_id not in ROLES:
            raise invalid(f"Unknown role_id {role_id!r}; expected one of {sorted(ROLES)}")
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 1024:
            raise invalid("description must be a string of at most 1024 characters")
        expiry = body.get("expiry", "never")
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
        return {"api_key": cred.api_key, "endpoint": self.state.endpoint, "key_info": key_info(cred)}

    def list(self, authorization: str | None, query: dict[str, list[str]]) -> dict[str, Any]:
        caller = self._caller(authorization)
        try:
            limit = int(query.get("limit", [str(DEFAULT_LIMIT)])[0])
            start = int(query.get("next_token", ["0"])[0] or "0")
        except ValueError:
            raise invalid("limit and next_token must be integers") from None
        if not 1 <= limit <= MAX_LIMIT or start < 0:
            raise invalid(f"limit must be within 1..{MAX_LIMIT}; next_token must come from a previous page")
        creds = sorted(self.state.credentials.list_v2(caller.account), key=lambda c: (c.issued_at, c.key_id))
        page = creds[start : start + limit]
        more = start + limit < len(creds)
        return {"api_keys": [key_info(c) for c in page], "next_token": str(start + limit) if more else None}

    def revoke(self, authorization: str | None, key_id: str) -> None:
        caller = self._caller(authorization)
        self.state.charge_auth_quota(caller)
        if not key_id:
            raise not_found("No key id")
        self.state.credentials.revoke(caller.account, key_id)


class _Handler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: keys travel in headers
        return

    def _send(self, status: int, payload: dict[str, Any] | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _error(self, code: Code, message: str) -> None:
        self._send(HTTP_STATUS[code], {"code": code.value, "message": message})

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        auth = self.headers.get("Authorization")
        try:
            if path == "/api-keys" and method == "POST":
                api.state.faults.apply("POST /api-keys")
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
                self._send(200, api.list(auth, parse_qs(url.query)))
            elif path.startswith("/api-keys/") and method == "DELETE":
                api.state.faults.apply("DELETE /api-keys")
                api.revoke(auth, path[len("/api-keys/") :])
                self._send(204, None)
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
