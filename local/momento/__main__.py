"""`python -m local.momento`: run the local Momento server until Ctrl-C.

Prints one JSON line with the endpoints. `--mint-v1 PATH` / `--mint-v2 PATH` write a console-style
key JSON (`{"apiKey","refreshToken","validUntil"}`; v2: `{"apiKey","endpoint","validUntil"}`) to a
file (mode 0600) or to stdout with `-`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import Any

from local.momento.server import MomentoLocalServer, ServerConfig


def _write(path: str, payload: dict[str, Any]) -> None:
    text = json.dumps(payload)
    if path == "-":
        print(text, flush=True)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def write_minted(
    server: MomentoLocalServer, v1_path: str | None, v2_path: str | None, valid_for: int | None = None
) -> None:
    if v1_path:
        key = server.mint_master_key(valid_for_seconds=valid_for) if valid_for else server.mint_master_key()
        _write(v1_path, key.console_json())
    if v2_path:
        _write(v2_path, server.mint_v2_key().console_json())


def _quota(value: str) -> float | None:
    return None if value.lower() in {"none", "off", "0"} else float(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.momento", description="Local Momento-compatible server"
    )
    parser.add_argument("--host", action="append", help="listen address (repeatable; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="gRPC port (0 = free port)")
    parser.add_argument("--http-port", type=int, default=0, help="v2 API keys HTTP port (0 = free port)")
    parser.add_argument("--no-http", action="store_true", help="do not serve the v2 API keys HTTP API")
    parser.add_argument("--endpoint", default="momento.local", help="logical endpoint in keys and tokens")
    parser.add_argument(
        "--quota", type=_quota, default=5.0, help="auth operations/s per account ('off' = none)"
    )
    parser.add_argument("--max-token-seconds", type=int, default=25 * 3600)
    parser.add_argument("--max-workers", type=int, default=64)
    parser.add_argument(
        "--mint-v1", metavar="PATH", help="write a console-style v1 master key JSON ('-' = stdout)"
    )
    parser.add_argument(
        "--mint-v1-valid-for", type=int, default=None, help="lifetime of the minted v1 key (s)"
    )
    parser.add_argument("--mint-v2", metavar="PATH", help="write a v2 owner key JSON ('-' = stdout)")
    args = parser.parse_args(argv)
    cfg = ServerConfig(
        hosts=tuple(args.host or ["127.0.0.1"]),
        port=args.port,
        http_port=None if args.no_http else args.http_port,
        endpoint=args.endpoint,
        quota_rate=args.quota,
        max_token_seconds=args.max_token_seconds,
        max_workers=args.max_workers,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with MomentoLocalServer(cfg) as server:
        print(json.dumps(server.endpoints()), flush=True)
        write_minted(server, args.mint_v1, args.mint_v2, args.mint_v1_valid_for)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
