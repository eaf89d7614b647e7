"""Drive the real SAM CLI against the local stack: `sam build`, `sam local invoke`, `start-api`.

Development only; used by `tests/sam` and by `make local-api` (`python -m local.sam_local`).
Functions run in Docker containers, and `--docker-network host` does not give a SAM 1.170
container the host's network, so the local stack listens on 127.0.0.1 AND the Docker bridge
gateway and the functions are pointed at the bridge address through an `--env-vars` file.
No registry is reachable: every command passes `--skip-pull-image` and runs on the image that
`local/lambda-image/build.sh` builds.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.stack import LocalStack

REPO = Path(__file__).resolve().parent.parent
SAM = REPO / ".tools" / "sam" / "bin" / "sam"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
TEMPLATE = REPO / "template.yaml"
LAMBDA_IMAGE = "public.ecr.aws/lambda/python:3.12-x86_64"
#: Variables every function declares in template.yaml that point it at the local stack.
STACK_VARIABLES = ("SECRETS_MANAGER_ENDPOINT_URL", "MOMENTO_LOCAL_ENDPOINT", "MOMENTO_API_KEYS_URL")
#: Parameters for local runs: no authorizer runs under `sam local`, so the vendor runs unauthenticated.
LOCAL_PARAMETERS = "AuthMode=none AllowUnauthenticated=true"
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class SamLocalError(RuntimeError):
    """The engine, the image or a SAM command is not usable; the message says what to run."""


def sam_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for SAM commands: no telemetry, dummy AWS credentials, the venv's Python for builds."""
    env = dict(os.environ)
    env.update({"SAM_CLI_TELEMETRY": "0", "PYTHON": str(VENV_PYTHON)})
    for key, value in DUMMY_AWS.items():
        env.setdefault(key, value)
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    env.update(extra or {})
    return env


def sts_override(stack: LocalStack) -> dict[str, str]:
    """Point SAM's own STS call at moto.

    `sam local invoke/start-api` asks STS for the account id before anything else; offline that
    call retries for about 10 s before SAM falls back to a default. moto answers it at once.
    """
    return {"AWS_ENDPOINT_URL_STS": stack.secrets_manager_endpoint_url}


def require_engine_and_image() -> None:
    """Raise `SamLocalError` naming the fix when Docker or the Lambda image is missing."""
    if not SAM.exists():
        raise SamLocalError(f"SAM CLI not found at {SAM}: run `make tools`")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        raise SamLocalError(
            "no Docker engine answers: run `make engine` (as root it installs and starts one)"
        )
    image = subprocess.run(["docker", "image", "inspect", LAMBDA_IMAGE], capture_output=True, check=False)
    if image.returncode != 0:
        raise SamLocalError(f"image {LAMBDA_IMAGE} is missing: run `make lambda-image`")


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge, which containers can reach."""
    out = subprocess.run(
        ["docker", "network", "inspect", "bridge", "-f", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for config in json.loads(out) or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):
            # Docker 20.10 leaves Gateway out of the default bridge's IPAM; it is the first host.
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    raise SamLocalError("docker's bridge network has no IPv4 subnet")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sam_build(build_dir: Path, template: Path = TEMPLATE) -> Path:
    """`sam build` (makefile builds, offline) into `build_dir`; returns the built template."""
    result = subprocess.run(
        # --no-cached: the cache lives in the repo's .aws-sam/ and concurrent runs would share it.
        [str(SAM), "build", "--template", str(template), "--build-dir", str(build_dir), "--no-cached"],
        cwd=REPO,
        env=sam_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SamLocalError(f"sam build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return build_dir / "template.yaml"


@contextlib.contextmanager
def layer_baked_into_image(built_template: Path, name: str) -> Iterator[tuple[Path, str]]:
    """A layerless copy of the built template and an image with the layer already at /opt.

    Why: for a function with a layer defined in the template, SAM 1.170 rebuilds an image on
    every `sam local invoke`, sending the whole layer (70 MB, 5,000 files) to Docker, which
    takes 5-15 s here. The runtime result is the same when the layer is baked once into an
    image and given as `--invoke-image`: /opt/python holds the same files, /var/task the same
    code. Yields (template, image); removes the image and SAM's emulator image on it afterwards.
    """
    import yaml

    build_dir = built_template.parent
    image = f"keyguard/lambda-layered-{name}:3.12-x86_64"
    rapid = f"keyguard/lambda-layered-{name}:rapid-x86_64"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", image, "--file", "-", str(build_dir / "SharedLayer")],
        input=f"FROM {LAMBDA_IMAGE}\nCOPY . /opt\n".encode(),
        capture_output=True,
        check=True,
    )
    template = yaml.safe_load(built_template.read_text())
    template.get("Globals", {}).get("Function", {}).pop("Layers", None)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"].pop("Layers", None)
    layerless = build_dir / f"template-layerless-{name}.json"
    layerless.write_text(json.dumps(template))
    try:
        yield layerless, image
    finally:
        subprocess.run(["docker", "rmi", "--force", rapid, image], capture_output=True, check=False)


def sam_layer_images() -> set[str]:
    """IDs of the images SAM builds per layer set (`samcli/lambda-python:...`)."""
    out = subprocess.run(
        ["docker", "images", "--quiet", "--no-trunc", "samcli/lambda-python"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return set(out.split())


def remove_images(ids: set[str]) -> None:
    """Remove images (SAM tags a new one for every new build of a layer; old ones would pile up)."""
    if ids:
        subprocess.run(["docker", "rmi", "--force", *sorted(ids)], capture_output=True, check=False)


def stack_variables(stack: LocalStack, host: str) -> dict[str, str]:
    """The declared variables that point a function at `stack` through `host`."""
    env = stack.env(host)
    return {name: env[name] for name in STACK_VARIABLES if name in env}


def write_env_vars(path: Path, functions: Mapping[str, Mapping[str, str]]) -> Path:
    """Write a `--env-vars` file: `{"LogicalId": {"NAME": "value"}}` (only declared names take effect)."""
    path.write_text(json.dumps({fn: dict(values) for fn, values in functions.items()}, indent=2))
    return path


@dataclass(frozen=True)
class Invocation:
    """What `sam local invoke` returned: the function's JSON result and the container's log."""

    payload: Any
    log: str


def invoke(
    built_template: Path,
    function: str,
    event: Path,
    env_vars: Path,
    parameter_overrides: str = LOCAL_PARAMETERS,
    invoke_image: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Invocation:
    image = ["--invoke-image", invoke_image] if invoke_image else []
    result = subprocess.run(
        [
            str(SAM), "local", "invoke", function,
            "--template", str(built_template),
            "--event", str(event),
            "--env-vars", str(env_vars),
            "--parameter-overrides", parameter_overrides,
            "--skip-pull-image",
            *image,
        ],
        cwd=REPO,
        env=sam_environ(environ),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        raise SamLocalError(
            f"sam local invoke {function} -e {event.name} exited {result.returncode}:\n"
            + result.stderr[-4000:]
        )
    try:
        payload = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise SamLocalError(f"{function} returned no JSON:\n{result.stdout[-2000:]}") from exc
    return Invocation(payload, result.stderr)


@contextlib.contextmanager
def start_api(
    built_template: Path,
    env_vars: Path,
    port: int,
    host: str = "127.0.0.1",
    parameter_overrides: str = LOCAL_PARAMETERS,
    ready_path: str = "/token",
    timeout_seconds: float = 120.0,
    log_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run `sam local start-api` with warm containers; yield its base URL once a GET answers."""
    command = [
        str(SAM), "local", "start-api",
        "--template", str(built_template),
        "--env-vars", str(env_vars),
        "--parameter-overrides", parameter_overrides,
        "--host", host, "--port", str(port),
        "--warm-containers", "EAGER",
        "--skip-pull-image",
    ]  # fmt: skip
    base = f"http://{host}:{port}"
    with contextlib.ExitStack() as cleanup:
        log = cleanup.enter_context(open(log_path, "wb")) if log_path else subprocess.DEVNULL
        before = _sam_containers()
        with _sigint_not_ignored():
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=sam_environ(environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        cleanup.callback(_stop, process, before)
        _wait_until_answers(process, base + ready_path, timeout_seconds)
        yield base


def _wait_until_answers(process: subprocess.Popen[bytes], url: str, timeout_seconds: float) -> None:
    # GET, never HEAD: start-api answers HEAD with 502. Any HTTP status means it serves.
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SamLocalError(f"sam local start-api exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=30).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SamLocalError(f"sam local start-api did not answer {url} within {timeout_seconds:.0f} s")


def _stop(process: subprocess.Popen[bytes], containers_before: set[str]) -> None:
    """Ctrl-C first: SAM then removes its warm containers. If it hangs, kill it and remove them."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    leftovers = _sam_containers() - containers_before
    if leftovers:
        subprocess.run(["docker", "rm", "--force", *sorted(leftovers)], capture_output=True, check=False)


def _sam_containers() -> set[str]:
    out = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", "label=sam.cli.container.type"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return set(out.split())


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Let the SAM CLI see Ctrl-C even when this process was started with SIGINT ignored.

    A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
    across exec; SAM would then never run its cleanup (its warm containers would be left). A
    handled signal is reset to the default on exec, so handle it while spawning.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)


# --- make local-api ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`make local-api`: the local stack + `sam local start-api`, until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m local.sam_local", description=main.__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--policy", type=Path, default=REPO / "events" / "vendor" / "policy.json")
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "build")
    args = parser.parse_args(argv)

    import logging

    from local.stack import LocalStack

    # Ctrl-C and SIGTERM end the API and the stack cleanly, even when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    require_engine_and_image()
    gateway = bridge_gateway()
    built = args.build_dir / "template.yaml"
    if not built.exists():
        print("building (sam build) ...", flush=True)
        sam_build(args.build_dir)
    with LocalStack(("127.0.0.1", gateway)) as stack:
        master = stack.momento.mint_master_key()
        secret = stack.secretsmanager_client().create_secret(
            Name="keyguard/master", SecretString=json.dumps(master.console_json())
        )
        shared = stack_variables(stack, gateway)
        env_vars = write_env_vars(
            REPO / ".aws-sam" / "local-env.json",
            {
                "VendorFunction": {
                    **shared,
                    "SECRET_ID": secret["ARN"],
                    "AUTH_MODE": "none",
                    "VENDING_POLICY": args.policy.read_text(),
                },
                "RotatorFunction": {**shared, "SECRET_IDS": secret["ARN"]},
            },
        )
        print("starting sam local start-api ...", flush=True)
        log_path = REPO / ".aws-sam" / "start-api.log"
        with start_api(built, env_vars, args.port, log_path=log_path, environ=sts_override(stack)) as base:
            print(f"\nready (log: .aws-sam/start-api.log). Try:\n  curl -s {base}/token\n", flush=True)
            print(
                f"  curl -s -X POST {base}/token -H 'content-type: application/json' "
                "-d '{\"ttlSeconds\": 300}'",
                flush=True,
            )
            print("\nCtrl-C stops the API and the local stack.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
