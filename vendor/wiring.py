"""Builds the vendor's real dependencies from settings, once per execution environment.

Kept apart from `vendor.app` so the handler module imports neither botocore's client machinery
nor the Momento SDK until the first request, and so tests and the benchmark can build the same
object graph. The Secrets Manager client comes from botocore itself, not boto3: `import boto3`
also imports s3transfer (and with it multiprocessing, concurrent.futures, tempfile), about a
tenth of a cold start the vendor never uses; a boto3 client is this very botocore client.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config

from shared.momento_access import MomentoAccess, SdkMomentoAccess
from vendor.master_key import MasterKeySource
from vendor.policy import Policy
from vendor.settings import VendorSettings
from vendor.token_cache import SharedTokenStore, TokenCache
from vendor.vending import Vendor

#: Fail fast so stale-while-error can answer within the API's timeout: two tries, short deadlines.
_SECRETS_MANAGER_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"}
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


def secrets_manager_client(settings: VendorSettings) -> Any:
    """What `boto3.client("secretsmanager", ...)` builds (same credential and region chain)."""
    return botocore.session.get_session().create_client(
        "secretsmanager",
        endpoint_url=settings.common.secrets_manager_endpoint_url,
        config=_SECRETS_MANAGER_CONFIG,
    )


def build_vendor(
    settings: VendorSettings,
    *,
    access: MomentoAccess | None = None,
    secrets_manager: Any = None,
) -> Vendor:
    """The vendor with real clients; `access` / `secrets_manager` may be handed in (tests, bench)."""
    reserved = frozenset({settings.shared_token_cache_name} if settings.shared_token_cache_name else ())
    policy = Policy.from_json(
        settings.policy_document, settings.max_token_ttl_seconds, reserved_caches=reserved
    )
    momento = access if access is not None else SdkMomentoAccess(settings.common)
    master_keys = MasterKeySource(
        secrets_manager if secrets_manager is not None else secrets_manager_client(settings),
        settings.secret_id,
        settings.version_check_interval_seconds,
    )
    shared: SharedTokenStore | None = None
    if settings.shared_token_cache_name:
        shared = MomentoTokenStore(momento, master_keys, settings.shared_token_cache_name)
    tokens = TokenCache(settings.token_reuse_fraction, shared)
    return Vendor(policy, master_keys, momento, tokens)
