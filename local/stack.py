"""The local stack: moto's Secrets Manager (ThreadedMotoServer) + the local Momento server.

    with LocalStack() as stack:
        sm = stack.secretsmanager_client()
        master = stack.momento.mint_master_key()
        os.environ |= stack.env()

`python -m local.stack [--host 127.0.0.1 --host 172.17.0.1]` runs it until Ctrl-C and prints the
endpoints as JSON, then as `KEY=value` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import urllib.request
from types import TracebackType
from typing import TYPE_CHECKING, Any

from local.momento.grpc_web import GrpcWebFront
from local.momento.server import MomentoLocalServer, ServerConfig

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class LocalStack:
    def __init__(
        self,
        hosts: tuple[str, ...] = ("127.0.0.1",),
        *,
        moto_port: int = 0,
        momento: ServerConfig | None = None,
        region: str = "us-east-1",
    ) -> None:
        if not hosts:
            raise ValueError("at least one host is required")
        self.hosts = hosts
        self.region = region
        self._moto_port = moto_port
        base = momento or ServerConfig()
        self.momento = MomentoLocalServer(base, hosts=hosts)
        self._motos: list[Any] = []
        self._env_set: list[str] = []
        self.moto_port = 0
        #: The gRPC-web front for browsers (`@gomomento/sdk-web`), on the first host.
        self.grpc_web: GrpcWebFront | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LocalStack:
        for key, value in DUMMY_AWS_ENV.items():
            if key not in os.environ:
                os.environ[key] = value
                self._env_set.append(key)

        try:
            port = self._moto_port
            for host in self.hosts:
                # moto backends are process-global: every listener serves the same state.
                moto = _moto_server(host, port)
                moto.start()
                self._motos.append(moto)
                port = moto.get_host_and_port()[1]
            self.moto_port = port
            # moto's backends are process-global: start from a clean slate whatever ran before.
            self._reset_moto()
            self.momento.start()
            self.grpc_web = GrpcWebFront(self.momento.address, host=self.host).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.grpc_web is not None:
            self.grpc_web.stop()
            self.grpc_web = None
        self.momento.stop()
        if self._motos:
            self._reset_moto()
        for moto in self._motos:
            moto.stop()
        self._motos.clear()
        for key in self._env_set:
            os.environ.pop(key, None)
        self._env_set.clear()

    def _reset_moto(self) -> None:
        req = urllib.request.Request(f"{self.secrets_manager_endpoint_url}/moto-api/reset", method="POST")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=5).close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- endpoints ----------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.hosts[0]

    def secrets_manager_endpoint_for(self, host: str) -> str:
        return f"http://{host}:{self.moto_port}"

    @property
    def secrets_manager_endpoint_url(self) -> str:
        return self.secrets_manager_endpoint_for(self.host)

    @property
    def momento_local_endpoint(self) -> str:
        """`host:port` for `MOMENTO_LOCAL_ENDPOINT`."""
        return self.momento.address

    @property
    def momento_api_keys_url(self) -> str | None:
        return self.momento.api_keys_url

    @property
    def momento_grpc_web_url(self) -> str | None:
        """`http://host:port` of the gRPC-web front: every sdk-web endpoint override points here."""
        return None if self.grpc_web is None else self.grpc_web.url

    def env(self, host: str | None = None) -> dict[str, str]:
        """Environment for the product's code, reaching the stack via `host` (default: the first host)."""
        h = host or self.host
        env = {
            "SECRETS_MANAGER_ENDPOINT_URL": self.secrets_manager_endpoint_for(h),
            "MOMENTO_LOCAL_ENDPOINT": f"{h}:{self.momento.port}",
            **DUMMY_AWS_ENV,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.momento.http_port is not None:
            env["MOMENTO_API_KEYS_URL"] = f"http://{h}:{self.momento.http_port}"
        return env

    def endpoints(self) -> dict[str, Any]:
        return {
            "secrets_manager_endpoint_url": self.secrets_manager_endpoint_url,
            **self.momento.endpoints(),
            "momento_grpc_web_url": self.momento_grpc_web_url,
            "by_host": {h: self.env(h) for h in self.hosts},
        }

    def secretsmanager_client(self) -> SecretsManagerClient:
        import boto3

        return boto3.client(
            "secretsmanager",
            endpoint_url=self.secrets_manager_endpoint_url,
            region_name=self.region,
            aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )


def _moto_server(host: str, port: int) -> Any:
    """moto's ThreadedMotoServer, polling for shutdown every 50 ms instead of 500 ms (fast teardown)."""
    # werkzeug logs every request line at INFO: noise next to the product's own logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from moto.server import ThreadedMotoServer  # slow import; only when a stack starts

    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError:  # moto moved its internals: keep the slower stock server
        return ThreadedMotoServer(ip_address=host, port=port, verbose=False)

    class _FastStopMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.05)

    return _FastStopMotoServer(ip_address=host, port=port, verbose=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__.splitlines()[0])
    parser.add_argument("--host", action="append", help="listen address (repeatable; default 127.0.0.1)")
    parser.add_argument("--moto-port", type=int, default=0)
    parser.add_argument("--momento-port", type=int, default=0)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument(
        "--mint-v1", metavar="PATH", help="write a console-style v1 master key JSON ('-' = stdout)"
    )
    parser.add_argument("--mint-v2", metavar="PATH", help="write a v2 owner key JSON ('-' = stdout)")
    args = parser.parse_args(argv)
    hosts = tuple(args.host or ["127.0.0.1"])
    cfg = ServerConfig(port=args.momento_port, http_port=args.http_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalStack(hosts, moto_port=args.moto_port, momento=cfg) as stack:
        print(json.dumps(stack.endpoints()), flush=True)
        for key, value in stack.env().items():
            print(f"{key}={value}", flush=True)
        from local.momento.__main__ import write_minted

        write_minted(stack.momento, args.mint_v1, args.mint_v2)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
