"""`SdkMomentoAccess` against the local Momento server, with the real SDK and wire stubs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from momento import CacheClient, Configurations
from momento.responses import CacheGet, CacheSet

from local.momento.grants import Access
from local.momento.sdk import credential_provider_for_address
from local.momento.server import MintedV1Key, MintedV2Key, MomentoLocalServer
from shared.config import CommonSettings
from shared.errors import (
    MomentoAuthenticationError,
    MomentoError,
    MomentoInvalidRequestError,
    MomentoLimitExceededError,
    MomentoNotFoundError,
    MomentoPermissionError,
    MomentoRefreshRefusedError,
    MomentoUnavailableError,
    UnknownScopeError,
)
from shared.momento_access import SdkMomentoAccess
from shared.momento_types import MasterKey
from shared.permissions import ALL, CachePermission, CacheRole, Permission, TopicPermission, TopicRole
from shared.secret_format import KeyGeneration, parse_secret, render_secret

pytestmark = pytest.mark.integration

LOCAL_WARNING = "MOMENTO_LOCAL_ENDPOINT is set"


def settings_for(server: MomentoLocalServer, timeout: float = 2.0) -> CommonSettings:
    assert server.api_keys_url is not None
    return CommonSettings(
        secrets_manager_endpoint_url=None,
        momento_local_endpoint=server.address,
        momento_api_keys_url=server.api_keys_url,
        momento_timeout_seconds=timeout,
    )


@pytest.fixture
def access(momento_server: MomentoLocalServer) -> Iterator[SdkMomentoAccess]:
    with SdkMomentoAccess(settings_for(momento_server)) as momento:
        yield momento


@pytest.fixture
def v1(master_key: MintedV1Key) -> MasterKey:
    return MasterKey(master_key.api_key)


@pytest.fixture
def v2(v2_key: MintedV2Key) -> MasterKey:
    return MasterKey(v2_key.api_key, v2_key.endpoint)


def assert_no_key_material(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


# --- v1 keys: refresh and generate ------------------------------------------------------------


def test_refresh_chain_each_key_works_and_secret_round_trips(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, master_key: MintedV1Key
) -> None:
    # GIVEN the console's JSON in the secret
    secret = parse_secret("momento/master", render_secret_json(master_key))
    for _ in range(3):
        momento_server.clock.advance(1)  # stay within the auth quota (5 operations per second)
        # WHEN the key is refreshed with its refresh token
        issued = access.refresh_v1(secret.master_key(), secret.refresh_token or "")
        secret = parse_secret("momento/master", render_secret(secret.with_issued_key(issued)))
        # THEN the new key works and carries a new single-use refresh token
        access.check_key(secret.master_key())
        assert secret.refresh_token is not None
        assert secret.refresh_token != master_key.refresh_token
        assert secret.valid_until is not None
        assert secret.generation is KeyGeneration.V1


def render_secret_json(master_key: MintedV1Key) -> str:
    return json.dumps(master_key.console_json())


def test_spent_refresh_token_is_refused(
    access: SdkMomentoAccess, master_key: MintedV1Key, v1: MasterKey
) -> None:
    issued = access.refresh_v1(v1, master_key.refresh_token)

    with pytest.raises(MomentoRefreshRefusedError) as caught:
        access.refresh_v1(MasterKey(issued.api_key), master_key.refresh_token)

    assert_no_key_material(
        [str(caught.value)], [issued.api_key, master_key.refresh_token, master_key.api_key]
    )


def test_refresh_of_an_expired_key_is_refused(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, master_key: MintedV1Key, v1: MasterKey
) -> None:
    momento_server.clock.advance(31 * 24 * 3600)

    with pytest.raises(MomentoRefreshRefusedError):
        access.refresh_v1(v1, master_key.refresh_token)


def test_refresh_of_a_v2_key_is_an_invalid_request(access: SdkMomentoAccess, v2: MasterKey) -> None:
    with pytest.raises(MomentoInvalidRequestError):
        access.refresh_v1(v2, "anything")


@pytest.mark.parametrize("valid_for", [None, 3600])
def test_a_v1_super_user_key_cannot_generate_a_super_user_key(
    access: SdkMomentoAccess, v1: MasterKey, valid_for: int | None
) -> None:
    # Momento's rule (JS SDK integration tests, auth-client.ts): PERMISSION_ERROR. This is why
    # the rotator has no "generate" fallback for a spent refresh token.
    with pytest.raises(MomentoPermissionError):
        access.generate_v1(v1, valid_for)


def test_generate_v1_with_a_data_only_key_is_a_permission_error(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer
) -> None:
    data_only = momento_server.mint_master_key(super_user=False)

    with pytest.raises(MomentoPermissionError):
        access.generate_v1(MasterKey(data_only.api_key), 3600)


# --- v2 keys over HTTP ------------------------------------------------------------------------


def test_generate_then_revoke_v2(access: SdkMomentoAccess, v2: MasterKey, v2_key: MintedV2Key) -> None:
    issued = access.generate_v2(v2, "owner", "rotation test", None)
    new_key = MasterKey(issued.api_key, issued.endpoint)

    access.check_key(new_key)
    assert (issued.role_id, issued.endpoint, issued.refresh_token) == ("owner", v2_key.endpoint, None)
    assert issued.key_id

    access.revoke_v2(v2, issued.key_id)
    with pytest.raises(MomentoAuthenticationError):
        access.check_key(new_key)
    # Momento knows the id no more: a 404, which the caller must verify (issue 11)
    with pytest.raises(MomentoNotFoundError):
        access.revoke_v2(v2, issued.key_id)


def test_list_v2_keys_names_ids_and_descriptions(access: SdkMomentoAccess, v2: MasterKey) -> None:
    issued = [access.generate_v2(v2, "owner", f"keyguard rotation r-{n} of s", None) for n in range(3)]
    listed = {key.key_id: key for key in access.list_v2_keys(v2)}
    for n, key in enumerate(issued):
        assert key.key_id is not None
        assert listed[key.key_id].description == f"keyguard rotation r-{n} of s"
    access.revoke_v2(v2, issued[0].key_id or "")
    assert issued[0].key_id not in {key.key_id for key in access.list_v2_keys(v2)}


def test_a_plain_string_that_is_base64_is_an_unreadable_key_not_a_json_error(
    access: SdkMomentoAccess,
) -> None:
    # "QUJD" is base64 of "ABC": the SDK's reader raised a bare JSONDecodeError.
    with pytest.raises(MomentoAuthenticationError, match="not a readable"):
        access.check_key(MasterKey("QUJD"))


def test_generate_v2_with_expiry(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v2: MasterKey
) -> None:
    expires_at = int(momento_server.clock.now()) + 7200

    issued = access.generate_v2(v2, "operator", "expiring", expires_at)

    assert issued.valid_until == expires_at


def test_v2_key_without_role_to_manage_keys(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer
) -> None:
    viewer = momento_server.mint_v2_key(role_id="viewer")

    with pytest.raises(MomentoPermissionError):
        access.generate_v2(MasterKey(viewer.api_key, viewer.endpoint), "owner", "x", None)


def test_v2_key_without_endpoint_is_refused_before_any_call(
    access: SdkMomentoAccess, v2_key: MintedV2Key
) -> None:
    with pytest.raises(MomentoInvalidRequestError, match="endpoint"):
        access.check_key(MasterKey(v2_key.api_key))


# --- disposable tokens ------------------------------------------------------------------------

ALLOWED_AND_DENIED: list[tuple[Permission, list[tuple[str, str, Access]], list[tuple[str, str, Access]]]] = [
    (
        CachePermission("orders", CacheRole.READ_WRITE),
        [("orders", "k", Access.WRITE)],
        [("other", "k", Access.READ)],
    ),
    (
        CachePermission("orders", CacheRole.READ_ONLY),
        [("orders", "k", Access.READ)],
        [("orders", "k", Access.WRITE)],
    ),
    (
        CachePermission("orders", CacheRole.WRITE_ONLY),
        [("orders", "k", Access.WRITE)],
        [("orders", "k", Access.READ)],
    ),
    (CachePermission(ALL, CacheRole.READ_ONLY), [("any", "k", Access.READ)], [("any", "k", Access.WRITE)]),
    (
        CachePermission("orders", CacheRole.READ_WRITE, key="k1"),
        [("orders", "k1", Access.WRITE)],
        [("orders", "k2", Access.READ), ("other", "k1", Access.READ)],
    ),
    (
        CachePermission("orders", CacheRole.READ_ONLY, key_prefix="user-42-"),
        [("orders", "user-42-cart", Access.READ)],
        [("orders", "user-43-cart", Access.READ), ("orders", "user-42-cart", Access.WRITE)],
    ),
]
TOPICS: list[tuple[Permission, list[tuple[str, str, Access]], list[tuple[str, str, Access]]]] = [
    (
        TopicPermission("chat", "room", TopicRole.PUBLISH_SUBSCRIBE),
        [("chat", "room", Access.WRITE), ("chat", "room", Access.READ)],
        [("chat", "lobby", Access.READ)],
    ),
    (
        TopicPermission("chat", ALL, TopicRole.SUBSCRIBE_ONLY),
        [("chat", "any", Access.READ)],
        [("chat", "any", Access.WRITE)],
    ),
    (
        TopicPermission(ALL, "room", TopicRole.PUBLISH_ONLY),
        [("x", "room", Access.WRITE)],
        [("x", "room", Access.READ)],
    ),
]


@pytest.mark.parametrize(("permission", "allowed", "denied"), ALLOWED_AND_DENIED)
def test_mint_cache_permission_kinds(
    access: SdkMomentoAccess,
    momento_server: MomentoLocalServer,
    v1: MasterKey,
    permission: Permission,
    allowed: list[tuple[str, str, Access]],
    denied: list[tuple[str, str, Access]],
) -> None:
    token = access.mint_token(v1, (permission,), 600, "user-42")

    record = momento_server.credential(token.auth_token)
    assert record is not None
    assert record.token_id == "user-42"
    assert token.expires_at == int(momento_server.clock.now()) + 600
    for cache, key, how in allowed:
        assert record.grants.may_cache(cache, key.encode(), how)
    for cache, key, how in denied:
        assert not record.grants.may_cache(cache, key.encode(), how)


@pytest.mark.parametrize(("permission", "allowed", "denied"), TOPICS)
def test_mint_topic_permission_kinds(
    access: SdkMomentoAccess,
    momento_server: MomentoLocalServer,
    v1: MasterKey,
    permission: Permission,
    allowed: list[tuple[str, str, Access]],
    denied: list[tuple[str, str, Access]],
) -> None:
    token = access.mint_token(v1, (permission,), 600, None)

    record = momento_server.credential(token.auth_token)
    assert record is not None
    for cache, topic, how in allowed:
        assert record.grants.may_topic(cache, topic, how)
    for cache, topic, how in denied:
        assert not record.grants.may_topic(cache, topic, how)


def test_mint_several_permissions_in_one_token(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey
) -> None:
    permissions = (
        CachePermission("orders", CacheRole.READ_ONLY),
        CachePermission("carts", CacheRole.READ_WRITE, key="user-42"),
        CachePermission("carts", CacheRole.READ_ONLY, key_prefix="shared-"),
    )

    token = access.mint_token(v1, permissions, 600, None)

    grants = momento_server.credential(token.auth_token).grants  # type: ignore[union-attr]
    assert grants.may_cache("orders", b"anything", Access.READ)
    assert not grants.may_cache("orders", b"anything", Access.WRITE)
    assert grants.may_cache("carts", b"user-42", Access.WRITE)
    assert grants.may_cache("carts", b"shared-x", Access.READ)
    assert not grants.may_cache("carts", b"user-43", Access.READ)


def test_mint_cache_and_topic_permissions_in_one_token(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey
) -> None:
    permissions = (
        CachePermission("orders", CacheRole.READ_ONLY),
        TopicPermission("chat", "room", TopicRole.PUBLISH_ONLY),
    )

    token = access.mint_token(v1, permissions, 600, None)

    grants = momento_server.credential(token.auth_token).grants  # type: ignore[union-attr]
    assert grants.may_cache("orders", b"k", Access.READ)
    assert grants.may_topic("chat", "room", Access.WRITE)
    assert not grants.may_topic("chat", "room", Access.READ)


def test_key_level_and_topic_permissions_cannot_share_a_token(
    access: SdkMomentoAccess, v1: MasterKey
) -> None:
    permissions = (
        CachePermission("c", CacheRole.READ_ONLY, key="k"),
        TopicPermission("c", "t", TopicRole.SUBSCRIBE_ONLY),
    )

    with pytest.raises(UnknownScopeError):
        access.mint_token(v1, permissions, 600, None)


def test_vended_token_works_with_the_sdk_for_its_key_only(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey
) -> None:
    momento_server.create_cache("orders")
    token = access.mint_token(v1, (CachePermission("orders", CacheRole.READ_WRITE, key="mine"),), 600, None)
    provider = credential_provider_for_address(token.auth_token, momento_server.address)

    with CacheClient(Configurations.Laptop.latest(), provider, timedelta(seconds=60)) as client:
        allowed = client.set("orders", "mine", "v")
        denied = client.get("orders", "theirs")

    assert isinstance(allowed, CacheSet.Success)
    assert isinstance(denied, CacheGet.Error)


def test_mint_with_a_data_only_key_is_a_permission_error(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer
) -> None:
    data_only = momento_server.mint_master_key(super_user=False)

    with pytest.raises(MomentoPermissionError):
        access.check_key(MasterKey(data_only.api_key))


def test_mint_above_the_lifetime_cap_is_an_invalid_request(access: SdkMomentoAccess, v1: MasterKey) -> None:
    with pytest.raises(MomentoInvalidRequestError):
        access.mint_token(v1, (CachePermission("c", CacheRole.READ_ONLY),), 26 * 3600, None)


def test_v2_key_mints_tokens(access: SdkMomentoAccess, v2: MasterKey) -> None:
    token = access.mint_token(v2, (CachePermission("c", CacheRole.READ_ONLY),), 60, None)

    assert token.endpoint == "momento.local"


# --- cache items ------------------------------------------------------------------------------


def test_cache_set_then_get(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey
) -> None:
    momento_server.create_cache("vended")

    assert access.cache_get(v1, "vended", "token:user-42") is None
    access.cache_set(v1, "vended", "token:user-42", "value", 60)
    assert access.cache_get(v1, "vended", "token:user-42") == "value"

    momento_server.clock.advance(61)
    assert access.cache_get(v1, "vended", "token:user-42") is None


def test_cache_on_a_missing_cache_is_not_found(access: SdkMomentoAccess, v1: MasterKey) -> None:
    with pytest.raises(MomentoNotFoundError):
        access.cache_set(v1, "no-such-cache", "k", "v", 60)


# --- failures ---------------------------------------------------------------------------------


def test_server_unavailable(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey, v2: MasterKey
) -> None:
    momento_server.faults.set(unavailable=True)

    with pytest.raises(MomentoUnavailableError):
        access.check_key(v1)
    with pytest.raises(MomentoUnavailableError):
        access.generate_v1(v1, 60)
    with pytest.raises(MomentoUnavailableError):
        access.generate_v2(v2, "owner", "x", None)
    assert MomentoUnavailableError.retryable


def test_nothing_listening(momento_server: MomentoLocalServer, master_key: MintedV1Key) -> None:
    settings = settings_for(momento_server, timeout=1.0)
    momento_server.stop()

    with SdkMomentoAccess(settings) as access:
        with pytest.raises(MomentoUnavailableError):
            access.refresh_v1(MasterKey(master_key.api_key), master_key.refresh_token)
        with pytest.raises(MomentoUnavailableError):
            access.revoke_v2(MasterKey(master_key.api_key), "some-key")


def test_expired_key_is_an_authentication_error(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey
) -> None:
    momento_server.clock.advance(31 * 24 * 3600)

    with pytest.raises(MomentoAuthenticationError):
        access.check_key(v1)


def test_quota_exceeded(access: SdkMomentoAccess, momento_server: MomentoLocalServer, v1: MasterKey) -> None:
    momento_server.clock.freeze()
    momento_server.set_quota(1, burst=1)

    access.check_key(v1)
    with pytest.raises(MomentoLimitExceededError) as caught:
        access.check_key(v1)

    assert caught.value.retryable


def test_local_endpoint_warns_once_and_no_key_material_leaks(
    momento_server: MomentoLocalServer, master_key: MintedV1Key, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[MomentoError] = []
    key = MasterKey(master_key.api_key)

    def capture(call: Callable[[], object]) -> None:
        with pytest.raises(MomentoError) as caught:
            call()
        errors.append(caught.value)

    with SdkMomentoAccess(settings_for(momento_server)) as access:
        access.check_key(key)
        issued = access.refresh_v1(key, master_key.refresh_token)
        capture(lambda: access.refresh_v1(MasterKey(issued.api_key), master_key.refresh_token))
        capture(lambda: access.generate_v2(key, "no-such-role", "bad role", None))
        momento_server.faults.set(unavailable=True)
        capture(lambda: access.check_key(MasterKey(issued.api_key)))

    warnings = [r for r in caplog.records if LOCAL_WARNING in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert len(errors) == 3
    secrets = [master_key.api_key, master_key.refresh_token, issued.api_key, issued.refresh_token or ""]
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [r.getMessage() for r in caplog.records] + [str(r.__dict__) for r in caplog.records]
    assert_no_key_material(texts, secrets)


def test_v2_http_quota_is_a_limit_exceeded_error(
    access: SdkMomentoAccess, momento_server: MomentoLocalServer, v2: MasterKey
) -> None:
    momento_server.clock.freeze()
    momento_server.set_quota(1, burst=1)
    access.generate_v2(v2, "viewer", "first", None)

    with pytest.raises(MomentoLimitExceededError):
        access.generate_v2(v2, "viewer", "second", None)


def test_clients_are_reused_per_key_and_rebuilt_after_eviction(
    momento_server: MomentoLocalServer, master_key: MintedV1Key
) -> None:
    first = MasterKey(master_key.api_key)
    second = MasterKey(momento_server.mint_master_key().api_key)

    with SdkMomentoAccess(settings_for(momento_server), max_cached_keys=1) as access:
        access.check_key(first)
        entry = access._entry(first)
        assert access._entry(first) is entry  # same key, same clients
        access.check_key(second)  # evicts and closes the first key's clients
        momento_server.clock.advance(1)
        access.check_key(first)  # and they come back on demand
        assert access._entry(first) is not entry


def test_mints_decode_the_master_key_once(
    access: SdkMomentoAccess, v1: MasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.key_claims
    from shared.permissions import CachePermission, CacheRole

    decoded = {"n": 0}
    original = shared.key_claims._jwt_payload

    def counting(token: str) -> dict[str, object] | None:
        decoded["n"] += 1
        return original(token)

    monkeypatch.setattr(shared.key_claims, "_jwt_payload", counting)
    permission = (CachePermission(cache="orders", role=CacheRole.READ_ONLY),)
    for _ in range(5):
        access.mint_token(v1, permission, 60, "caller")
    assert decoded["n"] <= 1
