"""Several vendor processes, each the real handler behind `local.api_gateway`, on one local stack.

Development only. Lambda runs many vendor containers, each serving one request at a time, all
sharing one Momento account and one shared token cache. This starts N such processes (N Python
interpreters, so no state is shared except through Momento and Secrets Manager) so that the
cross-container parts of the quota model (vendor/mint_budget.py) run as deployed. Used by
`tests/vendor/test_fleet.py` and `bench/quota.py`.

    with VendorFleet(env, processes=4, log_dir=tmp) as fleet:
        fleet.urls            # one base URL per process
        fleet.audit_lines()   # every `vendor.audit` record the processes logged

`python -m local.vendor_fleet URL_FILE` is one such process: it serves `vendor.app.handler`
(configured from its environment) on a free loopback port, writes the URL to URL_FILE and runs
until SIGTERM.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A bearer token `local.api_gateway` reads (it plays the JWT authorizer and verifies nothing)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    retry_after: float | None


def request_token(base_url: str, claims: dict[str, Any], body: dict[str, Any] | None = None) -> Answer:
    """One GET (or POST with `body`) /token as the caller `claims` describe."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base_url}/token",
        data=data,
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {unsigned_jwt(claims)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, json.loads(response.read()), None)
    except urllib.error.HTTPError as exc:
        retry = exc.headers.get("Retry-After")
        payload = exc.read()
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = {"raw": payload.decode(errors="replace")}
        return Answer(exc.code, parsed if isinstance(parsed, dict) else {}, float(retry) if retry else None)


class VendorFleet:
    def __init__(self, env: dict[str, str], processes: int, log_dir: Path) -> None:
        self._env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self._count = processes
        self._log_dir = log_dir
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self.urls: list[str] = []

    def start(self, timeout: float = 60.0) -> VendorFleet:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        url_files = [self._log_dir / f"vendor-{i}.url" for i in range(self._count)]
        try:
            for i, url_file in enumerate(url_files):
                url_file.unlink(missing_ok=True)
                log = (self._log_dir / f"vendor-{i}.log").open("wb")
                self._logs.append(log)
                self._procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "local.vendor_fleet", str(url_file)],
                        env=self._env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            deadline = time.monotonic() + timeout
            for proc, url_file in zip(self._procs, url_files, strict=True):
                while not url_file.exists() or not url_file.read_text().strip():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"vendor process did not start; see {self._log_dir}")
                    time.sleep(0.05)
                self.urls.append(url_file.read_text().strip())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()
        self._procs.clear()
        self._logs.clear()

    def audit_lines(self) -> list[dict[str, Any]]:
        """Every structured `vendor.audit` record the processes logged so far."""
        records: list[dict[str, Any]] = []
        for path in sorted(self._log_dir.glob("vendor-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if '"vendor.audit"' not in line:
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def __enter__(self) -> VendorFleet:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    from http.server import ThreadingHTTPServer

    from local.api_gateway import _make_request_handler
    from vendor.app import handler

    class Server(ThreadingHTTPServer):
        # API Gateway queues bursts; the stdlib default backlog of 5 resets them instead.
        request_queue_size = 256
        daemon_threads = True

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = Server(("127.0.0.1", 0), _make_request_handler(handler, "jwt", None))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Path(argv[0]).write_text(f"http://127.0.0.1:{server.server_address[1]}")
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
