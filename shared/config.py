"""Typed settings read from the environment once per execution environment.

Each function builds one frozen settings object at cold start (`RotatorSettings`,
`VendorSettings`, each holding a `CommonSettings`). `Env` collects every missing or bad
variable and raises one `ConfigError` listing them all, so a misconfigured deploy fails on
its first invocation with the whole list instead of one problem per redeploy.
"""

from __future__ import annotations

import builtins
import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from shared.errors import ConfigError

T = TypeVar("T")

#: Momento's documented global endpoint for the v2 API keys HTTP API
#: (docs.momentohq.com/platform/authentication/api-keys-http-api, its curl examples).
DEFAULT_API_KEYS_URL = "https://mga.registry.prod.a.momentohq.com"


class Env:
    """Reads variables from a mapping and remembers every problem instead of failing on the first."""

    def __init__(self, environ: Mapping[builtins.str, builtins.str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self.problems: list[builtins.str] = []

    @property
    def environ(self) -> Mapping[builtins.str, builtins.str]:
        return self._environ

    def _raw(self, name: builtins.str) -> builtins.str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _convert(
        self, name: builtins.str, raw: builtins.str, convert: Callable[[builtins.str], T], default: T
    ) -> T:
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{name}: {exc}")
            return default

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        raw = self._raw(name)
        if raw is None:
            if default is None:
                self.problems.append(f"{name} is required")
                return ""
            return default
        return raw

    def optional_str(self, name: builtins.str) -> builtins.str | None:
        return self._raw(name)

    def str_list(
        self, name: builtins.str, default: tuple[builtins.str, ...] = ()
    ) -> tuple[builtins.str, ...]:
        raw = self._raw(name)
        if raw is None:
            return default
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def int(
        self,
        name: builtins.str,
        default: builtins.int,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        raw = self._raw(name)
        if raw is None:
            return default
        value = self._convert(name, raw, builtins.int, default)
        bounded: builtins.int = self._bounded(name, value, default, minimum, maximum)
        return bounded

    def float(
        self,
        name: builtins.str,
        default: builtins.float,
        *,
        minimum: builtins.float | None = None,
        maximum: builtins.float | None = None,
    ) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        value = self._convert(name, raw, builtins.float, default)
        bounded: builtins.float = self._bounded(name, value, default, minimum, maximum)
        return bounded

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        raw = self._raw(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        self.problems.append(f"{name}: expected true or false, got {raw!r}")
        return default

    def choice(
        self, name: builtins.str, default: builtins.str, choices: tuple[builtins.str, ...]
    ) -> builtins.str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw not in choices:
            self.problems.append(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
            return default
        return raw

    def json(self, name: builtins.str, default: Any) -> Any:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            self.problems.append(f"{name}: not valid JSON ({exc.msg} at position {exc.pos})")
            return default

    def _bounded(self, name: builtins.str, value: Any, default: Any, minimum: Any, maximum: Any) -> Any:
        if minimum is not None and value < minimum:
            self.problems.append(f"{name}: must be at least {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.problems.append(f"{name}: must be at most {maximum}, got {value}")
            return default
        return value

    def check(self) -> None:
        """Raise one `ConfigError` naming every problem seen so far."""
        if self.problems:
            raise ConfigError(self.problems)


def in_real_lambda(environ: Mapping[str, str]) -> bool:
    """True inside a deployed Lambda function, False locally and under `sam local`.

    Lambda sets `AWS_LAMBDA_FUNCTION_NAME` in every function; `sam local` sets it too, and also
    `AWS_SAM_LOCAL=true` (samcli/local/lambdafn/env_vars.py), which Lambda never sets (the
    template must not either; tests/test_template.py checks).
    """
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME")) and environ.get("AWS_SAM_LOCAL") != "true"


#: Where a Docker bridge gateway lives: RFC 1918 and IPv6 unique-local addresses (not
#: `is_private`, which also covers documentation and other reserved ranges).
_BRIDGE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def _bridge(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address.version == n.version and address in n for n in _BRIDGE_NETWORKS)


def _host_of(value: str) -> str:
    host = value.rsplit(":", 1)[0] if ":" in value else value
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def plaintext_host_problem(name: str, host: str, environ: Mapping[str, str]) -> str | None:
    """Why `host` may not receive plaintext traffic (keys, tokens), or None when it may.

    Plaintext goes to loopback only, and under `sam local` also to private addresses (the
    function's container reaches the local stack through the Docker bridge gateway). Inside a
    deployed Lambda function never: a typo there would send the master key over the network.
    """
    if in_real_lambda(environ):
        return f"{name}: plaintext endpoints are refused inside a deployed Lambda function"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or (environ.get("AWS_SAM_LOCAL") == "true" and host == "host.docker.internal"):
            return None
        return f"{name}: plaintext is only allowed to a loopback address, got host {host!r}"
    if address.is_loopback or (environ.get("AWS_SAM_LOCAL") == "true" and _bridge(address)):
        return None
    return f"{name}: plaintext is only allowed to a loopback address, got {host!r}"


def _check_plaintext(env: Env, local_endpoint: str | None, api_keys_url: str) -> None:
    if local_endpoint is not None:
        problem = plaintext_host_problem("MOMENTO_LOCAL_ENDPOINT", _host_of(local_endpoint), env.environ)
        if problem:
            env.problems.append(problem)
    if api_keys_url.lower().startswith("http://"):
        host = urlsplit(api_keys_url).hostname or ""
        problem = plaintext_host_problem("MOMENTO_API_KEYS_URL", host, env.environ)
        if problem:
            env.problems.append(problem)


@dataclass(frozen=True)
class CommonSettings:
    """Settings both functions share: where Secrets Manager and Momento are."""

    #: Override for the Secrets Manager endpoint (moto server locally); None in production.
    secrets_manager_endpoint_url: str | None
    #: `host:port` of a plaintext Momento-compatible server. Development only: using it logs a warning.
    momento_local_endpoint: str | None
    #: Base URL of Momento's v2 API keys HTTP API.
    momento_api_keys_url: str
    #: Deadline for one Momento call, in seconds.
    momento_timeout_seconds: float

    @classmethod
    def read(cls, env: Env) -> CommonSettings:
        settings = cls(
            secrets_manager_endpoint_url=env.optional_str("SECRETS_MANAGER_ENDPOINT_URL"),
            momento_local_endpoint=env.optional_str("MOMENTO_LOCAL_ENDPOINT"),
            momento_api_keys_url=env.str("MOMENTO_API_KEYS_URL", DEFAULT_API_KEYS_URL),
            momento_timeout_seconds=env.float("MOMENTO_TIMEOUT_SECONDS", 5.0, minimum=0.1, maximum=60.0),
        )
        _check_plaintext(env, settings.momento_local_endpoint, settings.momento_api_keys_url)
        return settings
