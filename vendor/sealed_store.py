"""The shared token cache, sealed: entries only this vendor can read, write or move.

The shared cache is a Momento cache, and any Momento credential of the account with broad
access (not only tokens from this vendor) can read and write it. With plain entries under
`sha256(principal, permissions, ttl)` item names, a token that may read all caches read a
victim's token, and one that may write all caches planted a record (`authToken` of its choice,
`endpoint=evil.example`) that a fresh container served to the victim. So every entry is:

* named by HMAC-SHA256 under a key no Momento credential holds: names are unguessable, and
  an attacker cannot compute where a victim's entry is or will be;
* sealed with AES-256-GCM (`cryptography`'s AEAD) under a second key from the same secret, with
  the item name as associated data: unreadable, unforgeable, and not movable to another slot.

Both keys are derived (HKDF-SHA256) from one random value kept in Secrets Manager beside the
master key (`SHARED_TOKEN_CACHE_KEY_SECRET_ID`; the template generates it). It is independent
of the master key on purpose: a master-key rotation leaves every entry readable, so callers
keep their cached tokens instead of all minting at once. The value is read on first use, once
per container; if it cannot be read the shared level is skipped (tokens are minted and kept in
memory), never trusted unsealed. An entry that fails to open is a miss, logged once per reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.errors import KeyGuardError, SecretStoreError
from vendor.mint_budget import Counters
from vendor.token_cache import SharedTokenStore

logger = logging.getLogger(__name__)

#: Entry format marker; a different one (an older, unsealed entry) is a miss.
FORMAT = "s1."
ITEM_PREFIX = "vend-"
COUNTER_PREFIX = "ctr-"
_NONCE_BYTES = 12
#: While the key secret cannot be read, how long until the next try (the shared level is skipped).
RETRY_SECONDS = 30.0
#: Shortest secret value accepted (the template generates 64 alphanumerics, ~380 bits).
MIN_SECRET_CHARS = 32


class SealingKeys:
    """The name key and the sealing key, derived from one secret value."""

    def __init__(self, secret_value: str) -> None:
        if len(secret_value) < MIN_SECRET_CHARS:
            raise ValueError(f"the token cache key secret must hold at least {MIN_SECRET_CHARS} characters")
        material = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=None, info=b"momento-key-guard/shared-token-cache/v1"
        ).derive(secret_value.encode("utf-8"))
        self._name_key = material[:32]
        self._aead = AESGCM(material[32:])

    def item_name(self, cache_key: str) -> str:
        digest = hmac.new(self._name_key, cache_key.encode("utf-8"), hashlib.sha256).hexdigest()
        return ITEM_PREFIX + digest

    def counter_name(self, counter: str) -> str:
        """A mint counter's item name (`mb:...`): unguessable, so no Momento credential can find it
        to rewrite (Momento has no key-listing API). Domain-separated from token entries."""
        digest = hmac.new(self._name_key, b"counter\x00" + counter.encode("utf-8"), hashlib.sha256)
        return COUNTER_PREFIX + digest.hexdigest()

    def seal(self, item_name: str, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), item_name.encode("ascii"))
        return FORMAT + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, item_name: str, value: str) -> str | None:
        """The plaintext, or None when the value was not sealed by these keys for this item."""
        if not value.startswith(FORMAT):
            return None
        try:
            raw = base64.urlsafe_b64decode(value[len(FORMAT) :].encode("ascii"))
            if len(raw) <= _NONCE_BYTES:
                return None
            opened = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], item_name.encode("ascii"))
            return opened.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, UnicodeError):
            return None


class SealingKeySource:
    """The keys, read on first use and kept; None (logged) while the key secret cannot be read."""

    def __init__(self, load_secret: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        self._load_secret = load_secret
        self._clock = clock
        self._keys: SealingKeys | None = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> SealingKeys | None:
        if self._keys is not None:
            return self._keys
        with self._lock:
            if self._keys is None:
                if self._clock() - self._failed_at < RETRY_SECONDS:
                    return None  # one read per RETRY_SECONDS while the secret is unreadable (F3)
                try:
                    self._keys = SealingKeys(self._load_secret())
                except (KeyGuardError, ValueError) as exc:
                    self._failed_at = self._clock()
                    code = exc.code if isinstance(exc, KeyGuardError) else "bad_token_cache_key"
                    logger.warning("token cache key unavailable; shared cache skipped", extra={"error": code})
                    return None
            return self._keys


class KeyedCounters:
    """`Counters` whose item names are HMACs under the sealing name key (finding F2).

    Plain `mb:a:<slot>` names let any token that may write the shared cache set the fleet's
    counters (negative: budgets off; huge: every caller refused). Without the keys this raises
    `SecretStoreError`, so `MintBudget` counts in this container and `CounterLease` mints
    without a lease: the same "shared level skipped" as the sealed token entries.
    """

    def __init__(self, inner: Counters, keys: SealingKeySource) -> None:
        self._inner = inner
        self._keys = keys

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        keys = self._keys.get()
        if keys is None:
            raise SecretStoreError("the token cache key is unavailable; shared counters skipped")
        return self._inner.increment(keys.counter_name(key), amount, ttl_seconds)


class SealedTokenStore:
    """`SharedTokenStore` that seals values and hides item names before they reach `inner`."""

    def __init__(self, inner: SharedTokenStore, keys: SealingKeySource | Callable[[], str]) -> None:
        self._inner = inner
        self.keys = keys if isinstance(keys, SealingKeySource) else SealingKeySource(keys)

    def get(self, item_key: str) -> str | None:
        keys = self.keys.get()
        if keys is None:
            return None
        name = keys.item_name(item_key)
        value = self._inner.get(name)
        if value is None:
            return None
        opened = keys.open(name, value)
        if opened is None:
            logger.warning("shared token cache entry is not sealed by this vendor; ignored")
        return opened

    def set(self, item_key: str, value: str, ttl_seconds: int) -> None:
        keys = self.keys.get()
        if keys is None:
            return
        name = keys.item_name(item_key)
        self._inner.set(name, keys.seal(name, value), ttl_seconds)
