"""After a promotion, tell the vendors which version is AWSCURRENT now (`shared.version_hint`).

Best effort by design: the rotation is done whatever happens here, and vendors that miss the hint
still notice by their slow DescribeSecret poll or when Momento refuses the old key. So nothing is
retried and every failure is one warning. Written with the new key, which `check_key` has just
proved works. Switched on by `VERSION_HINT_CACHE_NAME` (`RotatorSettings.version_hint_cache_name`;
the template sets it to the vendor's shared token cache); unset, this does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.errors import KeyGuardError
from shared.momento_types import MasterKey
from shared.version_hint import HINT_TTL_SECONDS, hint_item_key

if TYPE_CHECKING:
    from rotator.secret_store import SecretStore
    from shared.momento_access import MomentoAccess


def publish_version_hint(
    cache: str | None, store: SecretStore, momento: MomentoAccess, key: MasterKey, version_id: str, log: Any
) -> None:
    """Write `version_id` as the secret's hint in `cache`; never raises for a KeyGuardError."""
    if cache is None:
        return
    try:
        arn = store.secret_id if store.secret_id.startswith("arn:") else store.describe().arn
        momento.cache_set(key, cache, hint_item_key(arn), version_id, HINT_TTL_SECONDS)
    except KeyGuardError as exc:
        log.warning(
            "could not publish the master key version hint; vendors notice by polling instead",
            extra={"secret_id": store.secret_id, "version_id": version_id, "error_code": exc.code},
        )
