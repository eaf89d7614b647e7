"""The master key, cached per container and kept in step with rotations.

Why not Powertools `parameters.get_secret(max_age=...)`: it has no notion of versions, so it
either re-downloads the value on every expiry or serves a rotated-away key until `max_age`
passes; and when Secrets Manager fails it raises (`GetParameterError`) instead of serving the
value it already has. The vendor needs the opposite on both counts:

* version awareness: one cheap `DescribeSecret` per interval (default 30 s) compares the
  AWSCURRENT VersionId with the cached one and downloads the value only when it changed;
* a forced re-read when Momento says the key is no longer accepted (a rotation finished between
  two checks), used by the caller for exactly one retry;
* stale-while-error: if Secrets Manager is down (or a new AWSCURRENT cannot be read as a key),
  the cached key keeps serving while it is still valid (its `valid_until`, when the secret
  records one), so an AWS outage or a bad write does not become a vending outage.
* a bounded check that blocks no one else: the version check runs in one request at a time,
  outside the lock that guards the cached key, with its own client (`version_client`: one
  attempt, short connect and read timeouts; see `vendor.wiring`). While it runs, every other
  request that finds a still-valid cached key is served with it at once. A Secrets Manager
  that accepts connections but never answers used to hold the key lock for 9 s per check
  (three attempts of a 3 s read timeout) and took throughput from about 320 to 26 requests
  per second. Only requests with no valid key at all (cold start, expired key) wait.
* a forced re-read is no stale-while-error: it is asked for because Momento refused the cached
  key, so serving that key again cannot work; when Secrets Manager is down it raises
  `SecretStoreError` (503 with Retry-After) instead.
* a version hint (`shared.version_hint`, issue 15), when a `VersionHint` is handed in: every
  `HINT_INTERVAL_SECONDS` one request reads the AWSCURRENT VersionId the rotator published in
  Momento and downloads the secret only when the hint names a version not held (once per hint
  value, so a wrong hint cannot make every check a download). While the hint answers, the
  DescribeSecret poll slows to `HINT_SAFETY_POLL_SECONDS`; when it is missing or unreadable the
  poll runs at the configured interval again, and a missing hint is re-published from what that
  poll confirmed. Momento refusing the key while reading the hint is a rotation not yet seen:
  the secret is re-read at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import (
    KeyGuardError,
    MomentoAuthenticationError,
    SecretFormatError,
    SecretNotFoundError,
    SecretStoreError,
)
from shared.momento_types import MasterKey
from shared.secret_format import parse_secret

logger = logging.getLogger(__name__)

#: How often one request reads the version hint (a Momento cache get) while one is published.
HINT_INTERVAL_SECONDS = 2.0
#: After a failed load with no valid key, calls within this long raise the same error without a
#: read: a request makes one read of a down Secrets Manager, not one per use of the key.
FAILURE_MEMORY_SECONDS = 5.0
#: The DescribeSecret poll while the hint answers: a backstop for a hint that was never written.
HINT_SAFETY_POLL_SECONDS = 900.0


class VersionHint(Protocol):
    """Where the rotator publishes the AWSCURRENT VersionId (a Momento cache item in production)."""

    def read(self, key: MasterKey, secret_arn: str) -> str | None: ...

    def write(self, key: MasterKey, secret_arn: str, version_id: str) -> None: ...


def plausible_version_id(value: str) -> bool:
    """A Secrets Manager VersionId (32 to 64 visible ASCII characters); anything else is no hint."""
    return 32 <= len(value) <= 64 and value.isascii() and value.isprintable() and " " not in value


#: Turns a secret's id and SecretString into the master key and its expiry (epoch s, None = never).
SecretParser = Callable[[str, str], tuple[MasterKey, int | None]]


def parse_with_secret_format(secret_id: str, secret_string: str) -> tuple[MasterKey, int | None]:
    """The product's secret format (`shared.secret_format`): every shape users already store."""
    secret = parse_secret(secret_id, secret_string)
    return secret.master_key(), secret.valid_until


@dataclass(frozen=True)
class _Cached:
    key: MasterKey
    version_id: str
    valid_until: int | None
    #: The secret's ARN as Secrets Manager reports it (names the version hint).
    arn: str = ""


def _store_error(secret_id: str, exc: Exception) -> Exception:
    """Map botocore failures to our types; the message names the secret and AWS's code only."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(f"secret {secret_id!r} (AWSCURRENT) not found")
        return SecretStoreError(f"Secrets Manager refused {secret_id!r}: {code}")
    return SecretStoreError(f"Secrets Manager unreachable for {secret_id!r}: {type(exc).__name__}")


class MasterKeySource:
    """Hands out the current master key; safe to share between threads of one container."""

    def __init__(
        self,
        client: Any,
        secret_id: str,
        check_interval_seconds: float,
        *,
        parser: SecretParser = parse_with_secret_format,
        clock: Callable[[], float] = time.time,
        version_client: Any = None,
        hint: VersionHint | None = None,
    ) -> None:
        self._client = client
        self._version_client = client if version_client is None else version_client
        self._secret_id = secret_id
        self._interval = check_interval_seconds
        self._parser = parser
        self._clock = clock
        #: Guards loads (GetSecretValue) and `_cached`; never held during a version check.
        self._lock = threading.Lock()
        #: Held by the one request running a version check.
        self._checking = threading.Lock()
        self._cached: _Cached | None = None
        self._checked_at = float("-inf")
        self._hint = hint
        self._hint_read_at = float("-inf")
        #: None: not read yet or unreadable (poll at the configured interval); "": no hint published.
        self._hint_seen: str | None = None
        #: The last hint value that caused a download: never downloaded for twice.
        self._hint_acted_on: str | None = None
        #: The last failed load with nothing valid to serve (when it ended, what it raised).
        self._failed: tuple[float, SecretStoreError | SecretFormatError] | None = None
        #: When a hint value last caused a download.
        self._hint_reload_at = float("-inf")
        #: When a refusal seen on a hint read last caused a download.
        self._refused_reload_at = float("-inf")

    @property
    def version_id(self) -> str | None:
        """The VersionId of the key being served (for logs and tests; never the key)."""
        cached = self._cached
        return cached.version_id if cached else None

    def _valid(self, cached: _Cached | None, now: float) -> bool:
        return cached is not None and (cached.valid_until is None or cached.valid_until > now)

    def _poll_interval(self) -> float:
        """The DescribeSecret interval: slow while a published hint answers, else as configured."""
        return max(self._interval, HINT_SAFETY_POLL_SECONDS) if self._hint_seen else self._interval

    def get(self) -> MasterKey:
        """The cached key, after at most one hint read per `HINT_INTERVAL_SECONDS` and one version
        check per poll interval."""
        now = self._clock()
        cached = self._cached
        if (
            self._hint is not None
            and cached is not None
            and now - self._hint_read_at >= HINT_INTERVAL_SECONDS
            and self._valid(cached, now)
            and self._checking.acquire(blocking=False)
        ):
            try:
                cached = self._follow_hint(cached, now)
            finally:
                self._checking.release()
        if cached is not None and now - self._checked_at < self._poll_interval():
            return cached.key
        if self._valid(cached, now):
            assert cached is not None
            if not self._checking.acquire(blocking=False):
                return cached.key  # another request is checking; this key is still valid
            try:
                return self._check(cached, now)
            finally:
                self._checking.release()
        with self._lock:  # nothing valid to serve: wait for (or do) the load
            now = self._clock()
            cached = self._cached
            if cached is not None and now - self._checked_at < self._interval:
                return cached.key
            failed = self._failed
            if failed is not None and now - failed[0] < FAILURE_MEMORY_SECONDS:
                # One request calls get() several times (token cache, counters, mint): one read
                # each against a hanging store outlived the function's timeout (finding F3).
                raise failed[1]
            self._checked_at = now
            try:
                loaded = self._load().key
                self._failed = None
                return loaded
            except (SecretStoreError, SecretFormatError) as exc:
                if not self._valid(self._cached, now):
                    self._failed = (self._clock(), exc)
                return self._stale_or_raise(exc, now)

    def _follow_hint(self, cached: _Cached, now: float) -> _Cached:
        """Read the hint; download the secret when it names a version not held (once per value)."""
        assert self._hint is not None
        self._hint_read_at = now
        try:
            hinted = self._hint.read(cached.key, cached.arn)
        except MomentoAuthenticationError:  # Momento refused this key: a rotation not seen yet
            self._hint_seen = None
            if now - self._refused_reload_at < self._interval:
                return cached  # re-read for a refusal moments ago: not a download every 2 s
            self._refused_reload_at = now
            return self._reload_for_hint(cached, now, None)
        except KeyGuardError as exc:
            logger.warning("version hint unreadable; polling Secrets Manager", extra={"error": exc.code})
            self._hint_seen = None
            return cached
        if hinted is not None and not plausible_version_id(hinted):
            logger.warning("version hint is not a version id; treated as no hint")
            hinted = None
        if hinted is None or hinted == cached.version_id:
            # Only a hint that agrees with the version held slows the poll (outside finding F5).
            self._hint_seen = hinted or ""
            return cached
        # Names a version not held: unconfirmed, so the configured poll applies. It causes one
        # download, not if that value already did (and the read contradicted it) nor within the
        # configured interval of the last hinted download: a hint forged to change constantly
        # costs one GetSecretValue per interval, as polling does.
        self._hint_seen = None
        if hinted == self._hint_acted_on or now - self._hint_reload_at < self._interval:
            return cached
        self._hint_reload_at = now
        return self._reload_for_hint(cached, now, hinted)

    def _reload_for_hint(self, cached: _Cached, now: float, hinted: str | None) -> _Cached:
        self._hint_acted_on = hinted
        with self._lock:
            if self._cached is not None and hinted is not None and self._cached.version_id == hinted:
                return self._cached
            self._checked_at = now
            try:
                return self._load()
            except (SecretStoreError, SecretFormatError) as exc:
                # Try this hint again, but after the configured interval, not at the next read.
                self._hint_acted_on = None
                self._hint_read_at = now + max(0.0, self._interval - HINT_INTERVAL_SECONDS)
                self._stale_or_raise(exc, now)
                return cached

    def _check(self, cached: _Cached, now: float) -> MasterKey:
        self._checked_at = now
        try:
            current = self._current_version_id()
            if current == cached.version_id:
                self._republish_missing_hint(cached)
                return cached.key
            with self._lock:
                if self._cached is not None and self._cached.version_id == current:
                    return self._cached.key
                return self._load().key
        except (SecretStoreError, SecretFormatError) as exc:
            return self._stale_or_raise(exc, now)

    def force_refresh(self) -> MasterKey:
        """Re-read AWSCURRENT now, because Momento refused the cached key; raises if that fails."""
        with self._lock:
            self._checked_at = self._clock()
            return self._load().key

    def _republish_missing_hint(self, cached: _Cached) -> None:
        """No hint published (or it expired): write the version DescribeSecret just confirmed."""
        if self._hint is None or self._hint_seen != "" or not cached.arn:
            return
        try:
            self._hint.write(cached.key, cached.arn, cached.version_id)
            self._hint_seen = cached.version_id
        except KeyGuardError as exc:
            logger.warning("could not re-publish the version hint", extra={"error": exc.code})

    def _stale_or_raise(self, exc: SecretStoreError | SecretFormatError, now: float) -> MasterKey:
        """Keep the cached key while it is valid; an unreadable new version is an error log, not an outage."""
        cached = self._cached
        if cached is None or (cached.valid_until is not None and cached.valid_until <= now):
            raise exc
        log = logger.error if isinstance(exc, SecretFormatError) else logger.warning
        log(
            "cannot load the current master key; serving the cached one (stale while error)",
            extra={"secret_id": self._secret_id, "version_id": cached.version_id, "error": exc.code},
        )
        return cached.key

    def _current_version_id(self) -> str | None:
        try:
            described = self._version_client.describe_secret(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise _store_error(self._secret_id, exc) from None
        for version_id, stages in (described.get("VersionIdsToStages") or {}).items():
            if "AWSCURRENT" in stages:
                return str(version_id)
        return None

    def _load(self) -> _Cached:
        try:
            value = self._client.get_secret_value(SecretId=self._secret_id, VersionStage="AWSCURRENT")
        except (ClientError, BotoCoreError) as exc:
            raise _store_error(self._secret_id, exc) from None
        secret_string = value.get("SecretString")
        if not isinstance(secret_string, str):
            raise SecretNotFoundError(f"secret {self._secret_id!r} has no SecretString")
        key, valid_until = self._parser(self._secret_id, secret_string)
        cached = _Cached(
            key=key,
            version_id=str(value["VersionId"]),
            valid_until=valid_until,
            arn=str(value.get("ARN") or ""),
        )
        previous = self._cached
        self._cached = cached
        if previous is None or previous.version_id != cached.version_id:
            logger.info(
                "loaded master key version",
                extra={"secret_id": self._secret_id, "version_id": cached.version_id},
            )
        return cached
