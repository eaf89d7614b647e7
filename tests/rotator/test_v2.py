"""v2 API keys: a successor with the same role, and the replaced key revoked by a later run
only after the grace period; a failed revoke is retried and reported, never dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rotator.engine import REVOKED_LABEL, Outcome
from shared.errors import ConfigError
from tests.rotator.asserts import assert_clean_after_rotation, assert_refused, assert_works, holder, value
from tests.rotator.faults import MomentoFaults
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
GRACE = 3600


def _v2_secret(rstack: RotatorStack, *, key_id: bool = True) -> dict[str, Any]:
    minted = rstack.mint_v2(30 * DAY)
    document: dict[str, Any] = {
        "apiKey": minted.api_key,
        "endpoint": minted.endpoint,
        "validUntil": minted.expires_at,
        "roleId": minted.role_id,
    }
    if key_id:
        document["keyId"] = minted.key_id
    rstack.create_secret(document)
    return document


def test_v2_rotation_then_revoke_after_the_grace(rstack: RotatorStack) -> None:
    first = _v2_secret(rstack)
    rstack.clock.advance(21 * DAY)
    momento = MomentoFaults(rstack.momento)

    # WHEN the key is due THEN a successor with the same role replaces it; the old one still works
    rotated = rstack.rotation(momento=momento, v2_revoke_grace_seconds=GRACE).run()
    assert (rotated.outcome, rotated.strategy) == (Outcome.ROTATED, "v2")
    sm = rstack.client()
    second = value(sm, SECRET_ID)
    assert second["keyId"] != first["keyId"]
    assert second["roleId"] == "owner"
    assert second["endpoint"] == first["endpoint"]
    assert_works(rstack.momento, second["apiKey"], second["endpoint"])
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])
    assert_clean_after_rotation(sm, SECRET_ID)

    # WHEN a run comes within the grace THEN the old key is left alone
    early = rstack.rotation(momento=momento, v2_revoke_grace_seconds=GRACE).run()
    assert early.outcome is Outcome.SKIPPED
    assert early.revoke is not None
    assert not early.revoke.revoked
    assert momento.attempts["revoke_v2"] == 0
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])

    # WHEN a run comes after the grace THEN it revokes the old key and marks the version
    rstack.clock.advance(GRACE + 60)
    late = rstack.rotation(momento=momento, v2_revoke_grace_seconds=GRACE).run()
    assert late.revoke is not None
    assert late.revoke.revoked
    assert late.revoke.key_id == first["keyId"]
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])
    assert_works(rstack.momento, second["apiKey"], second["endpoint"])
    assert holder(sm, SECRET_ID, REVOKED_LABEL) == holder(sm, SECRET_ID, "AWSPREVIOUS")

    # AND later runs do not revoke again
    rstack.rotation(momento=momento, v2_revoke_grace_seconds=GRACE).run()
    assert momento.attempts["revoke_v2"] == 1


def test_a_failed_revoke_is_reported_and_retried_by_the_next_run(rstack: RotatorStack) -> None:
    first = _v2_secret(rstack)
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.clock.advance(GRACE + 60)

    rstack.server.faults.set(unavailable=True, only=["DELETE /api-keys"])
    failed = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert failed.revoke is not None
    assert failed.revoke.error is not None
    assert failed.revoke.error.retryable
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])
    assert holder(rstack.client(), SECRET_ID, REVOKED_LABEL) is None

    rstack.server.faults.clear()
    retried = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert retried.revoke is not None
    assert retried.revoke.revoked
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])


def test_the_next_rotation_waits_until_the_previous_key_is_revoked(rstack: RotatorStack) -> None:
    # GIVEN a grace longer than the time until the successor is due again
    grace = 25 * DAY
    first = _v2_secret(rstack)
    rstack.rotation(v2_revoke_grace_seconds=grace).run(force=True)
    second = value(rstack.client(), SECRET_ID)
    rstack.clock.advance(21 * DAY)
    # WHEN the successor is due but its predecessor is still in its grace
    waiting = rstack.rotation(v2_revoke_grace_seconds=grace).run()
    # THEN the run skips: rotating now would move AWSPREVIOUS off an unrevoked key
    assert waiting.outcome is Outcome.SKIPPED
    assert "revoked first" in waiting.reason
    assert value(rstack.client(), SECRET_ID)["keyId"] == second["keyId"]
    # WHEN the grace has passed THEN one run revokes the old key and rotates
    rstack.clock.advance(4 * DAY + 60)
    done = rstack.rotation(v2_revoke_grace_seconds=grace).run()
    assert done.outcome is Outcome.ROTATED
    assert done.revoke is not None
    assert done.revoke.revoked
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])
    third = value(rstack.client(), SECRET_ID)
    assert_works(rstack.momento, third["apiKey"], third["endpoint"])
    assert_works(rstack.momento, second["apiKey"], second["endpoint"])


def test_a_previous_key_without_key_id_asks_the_operator_to_revoke_it(rstack: RotatorStack) -> None:
    _v2_secret(rstack, key_id=False)
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.clock.advance(GRACE + 60)
    result = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert result.revoke is not None
    assert result.revoke.error is not None
    assert REVOKED_LABEL in str(result.revoke.error)


def test_a_v2_key_needs_a_role(rstack: RotatorStack) -> None:
    document = _v2_secret(rstack)
    document.pop("roleId")
    rstack.client().put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps(document), VersionStages=["AWSCURRENT"]
    )
    with pytest.raises(ConfigError, match="MOMENTO_V2_ROLE_ID"):
        rstack.rotation().run(force=True)
    assert rstack.rotation(momento_v2_role_id="owner").run(force=True).strategy == "v2"


def test_strategy_refresh_refuses_a_v2_key(rstack: RotatorStack) -> None:
    _v2_secret(rstack)
    with pytest.raises(ConfigError, match="v2"):
        rstack.rotation(rotation_strategy="refresh").run(force=True)
