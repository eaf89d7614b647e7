"""Where the vending policy comes from: the environment, SSM Parameter Store or AppConfig.

Lambda caps a function's environment at 4 KB, so a policy with many tenants outgrows
`VENDING_POLICY`. Set one of

- `VENDING_POLICY_PARAMETER`: an SSM parameter name (String, standard up to 4 KB or advanced
  up to 8 KB), read with Powertools `SSMProvider`;
- `VENDING_POLICY_APPCONFIG`: `application/environment/profile` (names or ids) of an AppConfig
  freeform JSON profile (up to 2 MB hosted), read with Powertools `AppConfigProvider`;

and the vendor re-reads it through Powertools' cache at most every
`VENDING_POLICY_MAX_AGE_SECONDS` (default 60) per container: a change serves everywhere within
that bound plus one request, without a redeploy.

A broken new version (not JSON, or refused by `Policy.from_json`) never replaces a working one:
the last good policy keeps serving, with an error log line (`vending policy rejected`, listing
the problems) and the metric `PolicyRejected` each time the source is read while it is broken.
A source that cannot be reached is the same, logged as a warning with `PolicySourceFailed`. With
no good policy yet (a cold start), nothing is served: a broken policy is a configuration error
(500) and an unreachable source a retryable outage (503). Never an open or empty policy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from shared.errors import ConfigError, KeyGuardError
from shared.permissions import Permission
from vendor.identity import Identity
from vendor.outcome_metrics import emit_count
from vendor.policy import Grant, Policy

logger = logging.getLogger("vendor.policy_source")

Fetch = Callable[[int], Any]
Build = Callable[[Any], Policy]
Record = Callable[[str], None]


class PolicySourceError(KeyGuardError):
    """The policy store could not be read and no policy was loaded yet."""

    code = "policy_source_unavailable"
    retryable = True


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


class PolicySource:
    """The policy from a store, refreshed within `max_age_seconds`, never replaced by a broken one."""

    def __init__(
        self,
        fetch: Fetch,
        build: Build,
        max_age_seconds: int,
        *,
        describe: str,
        clock: Callable[[], float] = time.monotonic,
        record_metric: Record = emit_count,
    ) -> None:
        self._fetch = fetch
        self._build = build
        self._max_age = max_age_seconds
        self._describe = describe
        self._clock = clock
        self._record = record_metric
        self._policy: Policy | None = None
        self._text: str | None = None
        #: After a failed read, the store is asked again only from then on (no hammering in an outage).
        self._retry_at = 0.0

    @property
    def version(self) -> str | None:
        """A digest of the policy text now serving (logged when it changes)."""
        return None if self._text is None else hashlib.sha256(self._text.encode()).hexdigest()[:12]

    def current(self) -> Policy:
        now = self._clock()
        if self._policy is not None and now < self._retry_at:
            return self._policy
        try:
            text = _text(self._fetch(self._max_age))
        except Exception as exc:  # the store's client raises its own types (Powertools, botocore)
            return self._keep(now, "PolicySourceFailed", f"{type(exc).__name__}: {str(exc)[:300]}", exc)
        if text == self._text and self._policy is not None:
            return self._policy
        try:
            policy = self._build(json.loads(text))
        except ValueError as exc:
            return self._broken(now, [f"not JSON: {exc}"])
        except ConfigError as exc:
            return self._broken(now, exc.problems)
        self._policy, self._text = policy, text
        logger.info("vending policy loaded", extra={"source": self._describe, "policy_version": self.version})
        return policy

    def grant(
        self,
        identity: Identity,
        requested: tuple[Permission, ...] | None,
        requested_ttl_seconds: int | None,
    ) -> Grant:
        """`Policy.grant` on the policy serving now."""
        return self.current().grant(identity, requested, requested_ttl_seconds)

    def _broken(self, now: float, problems: list[str]) -> Policy:
        if self._policy is None:
            raise ConfigError([f"vending policy from {self._describe}: {p}" for p in problems])
        self._retry_at = now + self._max_age
        self._record("PolicyRejected")
        logger.error(
            "vending policy rejected; the last good policy keeps serving",
            extra={"source": self._describe, "problems": problems, "policy_version": self.version},
        )
        return self._policy

    def _keep(self, now: float, metric: str, detail: str, exc: Exception) -> Policy:
        self._retry_at = now + self._max_age
        self._record(metric)
        if self._policy is None:
            raise PolicySourceError(
                f"cannot read the vending policy from {self._describe}: {detail}"
            ) from exc
        logger.warning(
            "vending policy source unreachable; the last good policy keeps serving",
            extra={"source": self._describe, "error": detail, "policy_version": self.version},
        )
        return self._policy


def ssm_fetch(name: str, client: Any = None) -> Fetch:
    """Read `name` with Powertools' SSM provider and its cache (`max_age` per call)."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    provider = SSMProvider(boto3_client=client)

    def fetch(max_age: int) -> Any:
        return provider.get(name, max_age=max_age)

    return fetch


def appconfig_fetch(location: str, client: Any = None) -> Fetch:
    """Read `application/environment/profile` with Powertools' AppConfig provider and its cache."""
    from aws_lambda_powertools.utilities.parameters import AppConfigProvider

    application, environment, profile = parse_appconfig(location)
    provider = AppConfigProvider(environment=environment, application=application, boto3_client=client)

    def fetch(max_age: int) -> Any:
        return provider.get(profile, max_age=max_age)

    return fetch


def parse_appconfig(location: str) -> tuple[str, str, str]:
    parts = location.split("/")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ConfigError(
            [f"VENDING_POLICY_APPCONFIG: expected application/environment/profile, got {location!r}"]
        )
    application, environment, profile = (part.strip() for part in parts)
    return application, environment, profile


def policy_for(settings: Any, reserved: frozenset[str], *, client: Any = None) -> Policy | PolicySource:
    """The policy the vendor serves: parsed once from `VENDING_POLICY`, or a refreshing source."""

    def build(document: Any) -> Policy:
        return Policy.from_json(document, settings.max_token_ttl_seconds, reserved_caches=reserved)

    if settings.policy_parameter:
        fetch, where = (
            ssm_fetch(settings.policy_parameter, client),
            f"SSM parameter {settings.policy_parameter}",
        )
    elif settings.policy_appconfig:
        fetch, where = (
            appconfig_fetch(settings.policy_appconfig, client),
            f"AppConfig {settings.policy_appconfig}",
        )
    else:
        return build(settings.policy_document)
    return PolicySource(fetch, build, settings.policy_max_age_seconds, describe=where)
