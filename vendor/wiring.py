"""Builds the vendor's real dependencies from settings, once per execution environment.

Kept apart from `vendor.app` so the handler module imports neither botocore's client machinery
nor the Momento SDK until the first request, and so tests and the benchmark can build the same
object graph. The Secrets Manager client comes from botocore itself, not boto3: `import boto3`
also imports s3transfer (and with it multiprocessing, concurrent.futures, tempfile), about a
tenth of a cold start the vendor never uses; a boto3 client is this very botocore client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import SecretStoreError
from shared.momento_access import MomentoAccess, SdkMomentoAccess
from shared.momento_types import MasterKey
from shared.version_hint import HINT_TTL_SECONDS, hint_item_key
from vendor.master_key import MasterKeySource
from vendor.mint_budget import BudgetSettings, CounterLease, Counters, LocalCounters, MintBudget
from vendor.outcome_metrics import emit_count
from vendor.policy_source import policy_for
from vendor.sealed_store import KeyedCounters, SealedTokenStore, SealingKeySource
from vendor.settings import VendorSettings
from vendor.token_cache import SharedTokenStore, TokenCache
from vendor.vending import Vendor

#: Fail fast so stale-while-error (or the 503) answers well within the function's 25 s timeout.
#: `total_max_attempts` counts the first try: two attempts in all. (botocore's `max_attempts`
#: counts retries, so the old `max_attempts: 2` was three attempts of a 3 s read timeout, 9.1 s
#: per read against a hanging Secrets Manager; outside finding F3.) A request reads at most the
#: master key and the token cache key while the store is down (each source remembers a failure,
#: `vendor.master_key.FAILURE_MEMORY_SECONDS`): 2 reads x 2 attempts x (1 s + 1.5 s) plus
#: standard mode's backoff (under 1 s each) is at most 12 s; 8 s measured against a store that
#: accepts connections and never answers, where it took 57 s before.
_SECRETS_MANAGER_CONFIG = Config(
    connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"}
)


class MomentoTokenStore:
    """`SharedTokenStore` on a Momento cache, written with the current master key (seed 001)."""

    def __init__(self, access: MomentoAccess, master_keys: MasterKeySource, cache_name: str) -> None:
        self._access = access
        self._master_keys = master_keys
        self._cache_name = cache_name

    def get(self, item_key: str) -> str | None:
        return self._access.cache_get(self._master_keys.get(), self._cache_name, item_key)

    def set(self, item_key: str, value: str, ttl_seconds: int) -> None:
        self._access.cache_set(self._master_keys.get(), self._cache_name, item_key, value, ttl_seconds)


class MomentoCounters:
    """`Counters` on the shared Momento cache (atomic `Increment`), so limits hold for every container."""

    def __init__(self, access: MomentoAccess, master_keys: MasterKeySource, cache_name: str) -> None:
        self._access = access
        self._master_keys = master_keys
        self._cache_name = cache_name

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        return self._access.increment(self._master_keys.get(), self._cache_name, key, amount, ttl_seconds)


def mint_budget(settings: VendorSettings, counters: Counters) -> MintBudget:
    return MintBudget(
        BudgetSettings(
            principal_mints=settings.mint_budget_per_principal,
            principal_window_seconds=settings.mint_budget_window_seconds,
            account_rate=settings.auth_quota_per_second,
            reserve_rate=settings.auth_quota_reserve_per_second,
        ),
        counters,
        record=emit_count,
    )


#: The periodic version check is bounded as a whole: one attempt, about two seconds at most. It
#: runs in one request while the others are served the still-valid key (`vendor.master_key`).
VERSION_CHECK_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})


def secret_reader(client: Any, secret_id: str) -> Callable[[], str]:
    """Reads a secret's AWSCURRENT string value; botocore failures become `SecretStoreError`."""

    def read() -> str:
        try:
            value = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except (BotoCoreError, ClientError):
            raise SecretStoreError(f"cannot read secret {secret_id!r}") from None
        text = value.get("SecretString")
        if not isinstance(text, str):
            raise SecretStoreError(f"secret {secret_id!r} has no SecretString")
        return text

    return read


class MomentoVersionHint:
    """`VersionHint` as a Momento cache item (`shared.version_hint`), in the shared token cache."""

    def __init__(self, access: MomentoAccess, cache_name: str) -> None:
        self._access = access
        self._cache_name = cache_name

    def read(self, key: MasterKey, secret_arn: str) -> str | None:
        """None for a value that is not text: any cache writer can put bytes there (finding F4)."""
        try:
            return self._access.cache_get(key, self._cache_name, hint_item_key(secret_arn))
        except UnicodeDecodeError:
            return None

    def write(self, key: MasterKey, secret_arn: str, version_id: str) -> None:
        self._access.cache_set(key, self._cache_name, hint_item_key(secret_arn), version_id, HINT_TTL_SECONDS)


def secrets_manager_client(
    settings: VendorSettings,
    config: Config = _SECRETS_MANAGER_CONFIG,
    *,
    session: botocore.session.Session | None = None,
) -> Any:
    """What `boto3.client("secretsmanager", ...)` builds (same credential and region chain).

    Pass one `session` for several clients: a session loads botocore's data files (the endpoint
    resolver's endpoints.json, the service model and its endpoint rule set, the list of every
    service directory) once and keeps them, so a second client from it takes about 6 ms; from a
    fresh session it took about 130 ms of the cold start again (issue 15)."""
    return (session or botocore.session.get_session()).create_client(
        "secretsmanager",
        endpoint_url=settings.common.secrets_manager_endpoint_url,
        config=config,
    )


class VersionCheckClient:
    """The version-check client (`VERSION_CHECK_CONFIG`), created on its first `DescribeSecret`.

    Only a version check uses it, and none runs in the first request (the key is loaded, not
    checked; the first check is an interval later) nor while the version hint answers (the poll
    slows to 15 minutes), so building it with the reader cost every cold start a second client
    for nothing. Created once, under a lock (a botocore session is not thread-safe; its clients are)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def describe_secret(self, **kwargs: Any) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
        return client.describe_secret(**kwargs)


def build_vendor(
    settings: VendorSettings,
    *,
    access: MomentoAccess | None = None,
    secrets_manager: Any = None,
) -> Vendor:
    """The vendor with real clients; `access` / `secrets_manager` may be handed in (tests, bench)."""
    reserved = frozenset({settings.shared_token_cache_name} if settings.shared_token_cache_name else ())
    policy = policy_for(settings, reserved)
    momento = access if access is not None else SdkMomentoAccess(settings.common)
    version_client: VersionCheckClient | None = None
    if secrets_manager is None:
        session = botocore.session.get_session()
        secrets_manager = secrets_manager_client(settings, session=session)
        version_client = VersionCheckClient(
            lambda: secrets_manager_client(settings, VERSION_CHECK_CONFIG, session=session)
        )
    master_keys = MasterKeySource(
        secrets_manager,
        settings.secret_id,
        settings.version_check_interval_seconds,
        version_client=version_client,
        hint=MomentoVersionHint(momento, settings.shared_token_cache_name)
        if settings.shared_token_cache_name
        else None,
    )
    shared: SharedTokenStore | None = None
    endpoint_of = None
    counters: Counters = LocalCounters()
    lease: CounterLease | None = None
    if settings.shared_token_cache_name and settings.shared_token_cache_key_secret_id:
        store = MomentoTokenStore(momento, master_keys, settings.shared_token_cache_name)
        # The reader's own client: same configuration, and botocore clients are thread-safe.
        sealing_keys = SealingKeySource(
            secret_reader(secrets_manager, settings.shared_token_cache_key_secret_id)
        )
        shared = SealedTokenStore(store, sealing_keys)
        if isinstance(momento, SdkMomentoAccess):
            sdk = momento
            endpoint_of = lambda: sdk.key_endpoint(master_keys.get())  # noqa: E731
        # Counter names keyed like the sealed entries: no Momento credential can find them (F2).
        counters = KeyedCounters(
            MomentoCounters(momento, master_keys, settings.shared_token_cache_name), sealing_keys
        )
        lease = CounterLease(counters)
    tokens = TokenCache(settings.token_reuse_fraction, shared, lease=lease, endpoint_of=endpoint_of)
    return Vendor(policy, master_keys, momento, tokens, mint_budget(settings, counters))
