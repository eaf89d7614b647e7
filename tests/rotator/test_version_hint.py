"""The rotator publishes the new AWSCURRENT VersionId in Momento; the vendor's reader finds it."""

from __future__ import annotations

import pytest

from rotator.engine import Outcome
from shared.errors import MomentoUnavailableError
from shared.momento_types import MasterKey
from shared.secret_format import parse_secret
from shared.version_hint import hint_item_key
from tests.rotator.support import SECRET_ID, RotatorStack
from vendor.wiring import MomentoVersionHint

DAY = 86_400
CACHE = "keyguard-tokens"


@pytest.fixture
def hint_cache(rstack: RotatorStack) -> str:
    rstack.server.create_cache(CACHE, rstack.account)
    return CACHE


def _current_key(rstack: RotatorStack) -> tuple[str, str, MasterKey]:
    value = rstack.client().get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")
    return value["ARN"], value["VersionId"], parse_secret(SECRET_ID, value["SecretString"]).master_key()


def test_promotion_publishes_the_new_version_for_the_vendors(rstack: RotatorStack, hint_cache: str) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    result = rstack.rotation(version_hint_cache_name=hint_cache).run(force=True)
    assert result.outcome is Outcome.ROTATED
    arn, version, key = _current_key(rstack)
    assert version == result.current_version_id
    assert rstack.momento.cache_get(key, hint_cache, hint_item_key(arn)) == version
    assert MomentoVersionHint(rstack.momento, hint_cache).read(key, arn) == version


def test_a_failed_publish_does_not_fail_the_rotation(rstack: RotatorStack, hint_cache: str) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())

    class NoCacheSet:
        def __init__(self, inner: object) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> object:
            if name == "cache_set":
                raise MomentoUnavailableError("cache down")
            return getattr(self._inner, name)

    rotation = rstack.rotation(momento=NoCacheSet(rstack.momento), version_hint_cache_name=hint_cache)  # type: ignore[arg-type]
    result = rotation.run(force=True)
    assert result.outcome is Outcome.ROTATED


def test_no_cache_configured_publishes_nothing(rstack: RotatorStack) -> None:
    rstack.server.create_cache(CACHE, rstack.account)
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    assert rstack.rotation().run(force=True).outcome is Outcome.ROTATED
    arn, _, key = _current_key(rstack)
    assert rstack.momento.cache_get(key, CACHE, hint_item_key(arn)) is None
