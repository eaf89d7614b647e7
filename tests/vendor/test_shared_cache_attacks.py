"""The shared token cache against an attacker holding a broad Momento credential of the account.

Seen before the fix: a token that may read all caches read a victim's token from the
guessable item `vend-sha256(principal, permissions, ttl)`, and a token that may write all
caches planted a record that a fresh container served to the victim.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest

from shared.momento_types import MasterKey, VendedToken
from shared.permissions import ALL, CachePermission, CacheRole
from tests.vendor.conftest import SECRET_ID, Built, VendorStack, load_event
from tests.vendor.test_token_cache import Clock, DictStore, Minter
from vendor.identity import identify
from vendor.sealed_store import SealedTokenStore, SealingKeys
from vendor.token_cache import CachedToken, TokenCache
from vendor.vending import cache_key

TOKENS = "keyguard-tokens"


def vend(built: Built, name: str = "get-token-jwt.json") -> dict[str, Any]:
    response = built.invoke(load_event(name))
    assert response["statusCode"] == 200, response["body"]
    body: dict[str, Any] = json.loads(response["body"])
    return body


def broad_token(vendor_stack: VendorStack, built: Built) -> MasterKey:
    """What any broad credential of the account can do: read and write every cache."""
    master = json.loads(vendor_stack.sm.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    token = built.access.mint_token(
        MasterKey(master["apiKey"]), (CachePermission(ALL, CacheRole.READ_WRITE),), 600, "attacker"
    )
    return MasterKey(token.auth_token)


def guessable_name(built: Built) -> str:
    """The item name the old scheme used for the sample JWT caller's GET: all public material."""
    identity = identify(load_event("get-token-jwt.json"), "jwt", "cognito:groups")
    grant = built.vendor._policy.grant(identity, None, None)
    return cache_key(identity, grant)


@pytest.mark.integration
def test_a_broad_token_can_neither_read_nor_plant_victims_tokens(vendor_stack: VendorStack) -> None:
    first = vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS)
    victim = vend(first)
    attacker = broad_token(vendor_stack, first)
    name = guessable_name(first)
    # Reading: the guessable name holds nothing; whatever is in the cache is sealed.
    assert first.access.cache_get(attacker, TOKENS, name) is None
    # Planting at the guessable name (the old attack) and in the format the old code trusted.
    planted = {
        "authToken": "attacker-chosen",
        "expiresAt": 4102444800,
        "endpoint": "evil.example",
        "tokenId": "x",
        "mintedAt": 0,
        "reuseUntil": 4102444800,
    }
    first.access.cache_set(attacker, TOKENS, name, json.dumps(planted), 600)
    fresh = vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS)
    served = vend(fresh)
    assert served["authToken"] == victim["authToken"]  # the genuine, sealed entry
    assert served["endpoint"] != "evil.example"


@pytest.mark.integration
def test_a_master_key_rotation_keeps_shared_entries(vendor_stack: VendorStack) -> None:
    first = vend(vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS))
    vendor_stack.store_key(vendor_stack.momento.mint_master_key().console_json())
    after = vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS)
    assert vend(after)["authToken"] == first["authToken"]
    assert after.vendor._tokens.mints == 0


# --- the seal itself ---------------------------------------------------------------------------

SECRET = secrets.token_urlsafe(48)


def test_item_names_are_keyed_and_values_opaque() -> None:
    keys, other = SealingKeys(SECRET), SealingKeys(secrets.token_urlsafe(48))
    name = keys.item_name("vend-abc")
    assert name != other.item_name("vend-abc")
    assert name.startswith("vend-")
    assert "abc" not in name
    sealed = keys.seal(name, '{"authToken":"secret-token"}')
    assert "secret-token" not in sealed
    assert keys.open(name, sealed) == '{"authToken":"secret-token"}'


def test_tampered_moved_foreign_or_unsealed_values_do_not_open() -> None:
    keys = SealingKeys(SECRET)
    name = keys.item_name("victim")
    sealed = keys.seal(name, "x")
    raw = bytearray(base64.urlsafe_b64decode(sealed[3:]))
    for i in range(len(raw)):  # every single flipped byte: nonce, ciphertext or tag
        raw[i] ^= 1
        assert keys.open(name, "s1." + base64.urlsafe_b64encode(bytes(raw)).decode()) is None
        raw[i] ^= 1
    assert keys.open(keys.item_name("attacker"), sealed) is None  # moved to another slot
    assert SealingKeys(secrets.token_urlsafe(48)).open(name, sealed) is None
    for junk in ('{"authToken":"x"}', "s1.", "s1.!!!", "s1." + "A" * 8, ""):
        assert keys.open(name, junk) is None


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        SealingKeys("short")


def test_sealed_store_without_its_key_skips_the_shared_level() -> None:
    from shared.errors import SecretStoreError

    def down() -> str:
        raise SecretStoreError("down")

    inner = DictStore()
    store = SealedTokenStore(inner, down)
    store.set("k", "v", 60)
    assert store.get("k") is None
    assert inner.items == {}


# --- a cached token must still match the grant --------------------------------------------------


def entry(clock: Clock, *, expires_in: int, endpoint: str = "momento.local", minted_ago: int = 0) -> str:
    token = VendedToken("planted", int(clock.now) + expires_in, endpoint, "caller")
    return CachedToken(token, clock.now - minted_ago, clock.now + min(expires_in, 500)).to_json()


@pytest.mark.parametrize(
    ("expires_in", "endpoint", "minted_ago"),
    [
        (4_000_000_000, "momento.local", 0),  # expiry in 2100, far beyond the grant
        (900, "momento.local", 0),  # a 900 s token for a 600 s grant
        (300, "evil.example", 0),  # another endpoint than the master key's
        (500, "momento.local", 400),  # minted for a longer lifetime than the grant
    ],
)
def test_shared_entries_that_do_not_match_the_grant_are_minted_over(
    expires_in: int, endpoint: str, minted_ago: int
) -> None:
    clock, store = Clock(), DictStore()
    store.items["k"] = (entry(clock, expires_in=expires_in, endpoint=endpoint, minted_ago=minted_ago), 60)
    minter = Minter(clock, lifetime=600)
    cache = TokenCache(0.8, store, clock=clock, endpoint_of=lambda: "momento.local")
    outcome = cache.get_or_mint("k", minter, 600)
    assert outcome.source == "minted"
    assert outcome.token.auth_token != "planted"


def test_a_matching_shared_entry_is_served() -> None:
    clock, store = Clock(), DictStore()
    store.items["k"] = (entry(clock, expires_in=590, minted_ago=5), 60)
    cache = TokenCache(0.8, store, clock=clock, endpoint_of=lambda: "momento.local")
    assert cache.get_or_mint("k", Minter(clock), 600).source == "shared"
