"""`make web`: the example chat room (clients/web-example) against the whole local stack.

Development only. It starts the local stack (moto's Secrets Manager, the local Momento server and
its gRPC-web front), stores a console-style master key, serves the vendor's Lambda handler behind
the local API front in `jwt` mode with the HttpApi's CORS configuration, and serves the page on
its own origin. That static server also plays the JWT issuer: `POST /sign-in {"username"}`
answers an unsigned ID token (`sub` derived from the name, group `members`), which the local API
front reads as API Gateway's authorizer would after verifying it. Never expose it beyond loopback.

The browser tests (`tests/browser`) drive the same `WebStack`, with its controls: `rotate()` runs
the rotator's handler (forced), `throttle()` makes Momento refuse token minting (the vendor then
answers 429), `clock`/`faults` are the local Momento server's.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import threading
import uuid
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE_DIR = ROOT / "clients" / "web-example"
SECRET_ID = "momento/master-key"
CACHE = "chat"
TOPIC = "room"
#: Members may read and write their own items and chat in the room; the rest of the cache
#: (for example the `pinned` item the page tries to write) is refused by Momento.
POLICY: dict[str, Any] = {
    "rules": [
        {
            "name": "chat members",
            "when": {"groups": ["members"]},
            "allow": [
                {"cache": CACHE, "keyPrefix": "user-{sub}-", "role": "read_write"},
                {"cache": CACHE, "topic": TOPIC, "role": "publish_subscribe"},
            ],
            "maxTtlSeconds": 3600,
        }
    ]
}


def policy(max_ttl_seconds: int | None = None) -> dict[str, Any]:
    """POLICY, with every rule's lifetime capped (the vendor rounds asked lifetimes to buckets of a
    minute or more, but a rule's own cap is honoured as it is: short tokens for the tests)."""
    if max_ttl_seconds is None:
        return POLICY
    rules = [{**rule, "maxTtlSeconds": max_ttl_seconds} for rule in POLICY["rules"]]
    return {"rules": rules}


SIGN_IN_NAMESPACE = uuid.UUID("6f1d5f1e-4d0b-4b59-9a57-5c3f1f3f6a10")


def dev_id_token(username: str) -> tuple[str, str]:
    """An unsigned ID token for `username` and its `sub` (a UUID derived from the name)."""
    sub = str(uuid.uuid5(SIGN_IN_NAMESPACE, username))
    claims = {"sub": sub, "cognito:groups": ["members"], "cognito:username": username}

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.dev", sub


@dataclass(frozen=True)
class PageConfig:
    vendor_url: str
    grpc_web_url: str
    ttl_seconds: int | None = None
    renew_margin_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "vendorUrl": self.vendor_url,
            "grpcWebUrl": self.grpc_web_url,
            "signInUrl": "sign-in",
            "cache": CACHE,
            "topic": TOPIC,
        }
        if self.ttl_seconds is not None:
            config["ttlSeconds"] = self.ttl_seconds
        if self.renew_margin_seconds is not None:
            config["renewMarginSeconds"] = self.renew_margin_seconds
        return config


def _page_handler(config: PageConfig) -> type[SimpleHTTPRequestHandler]:
    class PageHandler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(PAGE_DIR), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: request lines are noise."""

        def _json(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("cache-control", "no-store")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self._json(200, config.to_json())
                return
            if not (path in ("/", "/index.html") or path.startswith("/dist/")):
                self.send_error(404)
                return
            super().do_GET()

        def do_POST(self) -> None:
            if self.path != "/sign-in":
                self.send_error(404)
                return
            length = min(int(self.headers.get("content-length") or 0), 4096)
            try:
                username = json.loads(self.rfile.read(length)).get("username")
            except (ValueError, AttributeError):
                username = None
            if not isinstance(username, str) or not 1 <= len(username) <= 32:
                self._json(400, {"error": "bad_request", "message": "username: 1-32 characters"})
                return
            token, sub = dev_id_token(username)
            self._json(200, {"idToken": token, "sub": sub, "username": username})

    return PageHandler


class WebStack:
    """The local stack + vendor (jwt, CORS) + the example page on its own origin."""

    def __init__(
        self,
        *,
        page_port: int = 0,
        vendor_port: int = 0,
        ttl_seconds: int | None = None,
        renew_margin_seconds: float | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`ttl_seconds` caps the policy's token lifetime; `env` overrides the vendor's settings."""
        self._page_port = page_port
        self._vendor_port = vendor_port
        self._ttl = ttl_seconds
        self._margin = renew_margin_seconds
        self._extra_env = env or {}
        self._exit = ExitStack()
        self._saved_env: dict[str, str | None] = {}
        self.page_url = ""
        self.vendor_url = ""

    def __enter__(self) -> WebStack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit.close()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _setenv(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start(self) -> None:
        if not (PAGE_DIR / "dist" / "app.js").exists():
            raise RuntimeError("clients/web-example is not built: run `make web-build` (npm ci + esbuild)")
        from local.api_gateway import CorsConfiguration, serve
        from local.stack import LocalStack

        self.stack = self._exit.enter_context(LocalStack())
        stack = self.stack
        self.sm = stack.secretsmanager_client()
        master = stack.momento.mint_master_key()
        self.sm.create_secret(Name=SECRET_ID, SecretString=json.dumps(master.console_json()))
        stack.momento.create_cache(CACHE)

        page = ThreadingHTTPServer(("127.0.0.1", self._page_port), _page_handler(PageConfig("", "")))
        page.daemon_threads = True
        origin = f"http://127.0.0.1:{page.server_address[1]}"
        # A person may type either name for the loopback page; both are origins the vendor allows.
        origins = (origin, f"http://localhost:{page.server_address[1]}")
        self._setenv(
            {
                **stack.env(),
                "SECRET_ID": SECRET_ID,
                "SECRET_IDS": SECRET_ID,
                "AUTH_MODE": "jwt",
                "VENDING_POLICY": json.dumps(policy(self._ttl)),
                "CORS_ALLOW_ORIGINS": ",".join(origins),
                # follow a rotation at once (production: at most one check per 30 s per container)
                "VERSION_CHECK_INTERVAL_SECONDS": "0",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                **self._extra_env,
            }
        )
        import vendor.app

        # The vendor builds its settings once per process (a Lambda container); a new stack has
        # new endpoints and a new origin.
        vendor.app._application.cache_clear()
        cors = CorsConfiguration(
            allow_origins=origins,
            allow_headers=("authorization", "content-type", *vendor.app.TVM_EXAMPLE_HEADERS),
        )
        self.vendor_url = self._exit.enter_context(
            serve(vendor.app.handler, auth_mode="jwt", cors=cors, port=self._vendor_port)
        )
        assert stack.grpc_web is not None
        config = PageConfig(f"{self.vendor_url}/token", stack.grpc_web.url, None, self._margin)
        page.RequestHandlerClass = _page_handler(config)
        thread = threading.Thread(target=page.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._exit.callback(page.server_close)
        self._exit.callback(page.shutdown)
        self.page_url = f"{origin}/"
        self.origin = origin

    # -- controls (tests) -----------------------------------------------------------------------------
    def rotate(self) -> dict[str, Any]:
        """A forced rotation with the rotator's Lambda handler (refresh, store, test, promote)."""
        from local.api_gateway import LocalLambdaContext
        from rotator.app import handler as rotate

        context: Any = LocalLambdaContext("RotatorFunction")
        report: dict[str, Any] = rotate({"secret_id": SECRET_ID, "force": True}, context)
        return report

    def current_master_key_id(self) -> str | None:
        stored = self.sm.get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")
        current = json.loads(stored["SecretString"])
        cred = self.stack.momento.credential(current["apiKey"])
        return None if cred is None else cred.key_id

    def throttle(self, on: bool = True) -> None:
        """Momento refuses every token mint (its auth quota): the vendor answers 429 + Retry-After."""
        self.stack.momento.set_quota(1e-9 if on else None, 0.0 if on else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.web", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="page port (default 8080)")
    parser.add_argument("--vendor-port", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    stop = threading.Event()
    with WebStack(page_port=args.port, vendor_port=args.vendor_port) as web:
        print(f"Chat room:  {web.page_url}", flush=True)
        print(
            f"Vendor:     {web.vendor_url}/token (jwt; the page signs in at {web.page_url}sign-in)",
            flush=True,
        )
        assert web.stack.grpc_web is not None
        print(f"gRPC-web:   {web.stack.grpc_web.url}", flush=True)
        print("Open the page in two windows, sign in with two names, and chat. Ctrl-C stops.", flush=True)
        with suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
