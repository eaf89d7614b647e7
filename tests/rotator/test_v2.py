"""v2 API keys: a successor with the same role, and the replaced key revoked by a later run
only after the grace period; a failed revoke is retried and reported, never dropped."""

from __future__ import annotations

import json

import pytest

from rotator.engine import PROMOTED_LABEL, REVOKED_LABEL, Outcome, RotationResult
from rotator.events import NativeStepRequest
from rotator.native import run_step
from shared.errors import (
    ConfigError,
    MomentoUnavailableError,
    OperatorActionRequiredError,
    RotationInProgressError,
    SecretFormatError,
)
from tests.rotator.asserts import assert_clean_after_rotation, assert_refused, assert_works, holder, value
from tests.rotator.faults import Crash, MomentoFaults, SecretsManagerFaults, staged
from tests.rotator.moto_state import stage_rotation_token
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
GRACE = 3600


def test_v2_rotation_then_revoke_after_the_grace(rstack: RotatorStack) -> None:
    first = rstack.create_v2_secret()
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
    first = rstack.create_v2_secret()
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
    first = rstack.create_v2_secret()
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
    rstack.create_v2_secret(key_id=False)
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.clock.advance(GRACE + 60)
    result = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert result.revoke is not None
    assert result.revoke.error is not None
    assert REVOKED_LABEL in str(result.revoke.error)


def test_a_v2_key_needs_a_role(rstack: RotatorStack) -> None:
    document = rstack.create_v2_secret()
    document.pop("roleId")
    rstack.client().put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps(document), VersionStages=["AWSCURRENT"]
    )
    with pytest.raises(ConfigError, match="MOMENTO_V2_ROLE_ID"):
        rstack.rotation().run(force=True)
    assert rstack.rotation(momento_v2_role_id="owner").run(force=True).strategy == "v2"


def test_strategy_refresh_refuses_a_v2_key(rstack: RotatorStack) -> None:
    rstack.create_v2_secret()
    with pytest.raises(ConfigError, match="v2"):
        rstack.rotation(rotation_strategy="refresh").run(force=True)


def test_a_grace_that_outlasts_the_current_key_does_not_let_it_expire(rstack: RotatorStack) -> None:
    # GIVEN a grace as long as the keys live: the revoke could only happen when the key is dead
    grace = 30 * DAY
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=grace).run(force=True)
    second = value(rstack.client(), SECRET_ID)
    rstack.clock.advance(21 * DAY)
    # WHEN the successor is due
    result = rstack.rotation(v2_revoke_grace_seconds=grace).run()
    # THEN it is rotated anyway, and the unrevoked old key is reported for the operator (alarmed)
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "v2")
    assert result.revoke is not None
    assert result.revoke.error is not None
    assert first["keyId"] in str(result.revoke.error)
    third = value(rstack.client(), SECRET_ID)
    assert third["keyId"] not in {first["keyId"], second["keyId"]}
    assert_works(rstack.momento, third["apiKey"], third["endpoint"])
    # AND nothing was revoked behind anyone's back
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])
    assert_works(rstack.momento, second["apiKey"], second["endpoint"])


def test_a_revoke_that_keeps_failing_does_not_let_the_current_key_expire(rstack: RotatorStack) -> None:
    # GIVEN the previous key's revoke fails on every run
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.server.faults.set(unavailable=True, only=["DELETE /api-keys"])
    # WHEN the successor is due, the revoke failure holds the rotation back while there is time
    rstack.clock.advance(21 * DAY)
    held = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert held.outcome is Outcome.FAILED
    # WHEN less than a day of the current key is left
    rstack.clock.advance(8 * DAY + 3600)
    last = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    # THEN the key is rotated anyway and the unrevoked key is still reported
    assert (last.outcome, last.strategy) == (Outcome.ROTATED, "v2")
    assert last.revoke is not None
    assert last.revoke.error is not None
    assert first["keyId"] in str(last.revoke.error)
    current = value(rstack.client(), SECRET_ID)
    assert_works(rstack.momento, current["apiKey"], current["endpoint"])


def test_the_grace_runs_from_a_late_promotion_not_from_when_the_successor_was_stored(
    rstack: RotatorStack,
) -> None:
    # GIVEN a run stored a v2 successor and died before promoting it
    first = rstack.create_v2_secret()
    rstack.clock.advance(21 * DAY)
    crashing = MomentoFaults(rstack.momento)
    crashing.crash_after("check_key", skip=1)
    with pytest.raises(Crash):
        rstack.rotation(momento=crashing, v2_revoke_grace_seconds=GRACE).run()
    # WHEN the next run resumes it long after it was stored
    rstack.clock.advance(2 * GRACE)
    resumed = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert resumed.outcome is Outcome.RESUMED
    assert holder(rstack.client(), SECRET_ID, PROMOTED_LABEL) is not None
    # THEN the old key keeps its whole grace from that promotion (vendors used it until then)
    rstack.clock.advance(GRACE // 2)
    early = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert early.revoke is not None
    assert not early.revoke.revoked
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])
    # AND it is revoked once the grace has passed
    rstack.clock.advance(GRACE // 2 + 60)
    late = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert late.revoke is not None
    assert late.revoke.revoked
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])


def test_a_promotion_nobody_recorded_starts_the_grace_when_a_run_first_sees_it(rstack: RotatorStack) -> None:
    # GIVEN a v2 successor made current by hand (put-secret-value), so no run recorded when
    first = rstack.create_v2_secret()
    second = rstack.mint_v2(30 * DAY)
    document = dict(first, apiKey=second.api_key, keyId=second.key_id, validUntil=second.expires_at)
    rstack.clock.advance(2 * GRACE)
    rstack.client().put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(document))
    # WHEN the first run sees it THEN it records the time and leaves the old key alone
    seen = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert seen.revoke is not None
    assert not seen.revoke.revoked
    assert holder(rstack.client(), SECRET_ID, PROMOTED_LABEL) is not None
    # AND revokes it only a grace after that
    rstack.clock.advance(GRACE + 60)
    late = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert late.revoke is not None
    assert late.revoke.revoked
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])


def test_a_crash_after_the_revoke_before_the_label_is_finished_by_the_next_run(rstack: RotatorStack) -> None:
    # GIVEN the revoke reached Momento and the run died before labelling the version
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.clock.advance(GRACE + 60)
    crashing = MomentoFaults(rstack.momento)
    crashing.crash_after("revoke_v2")
    with pytest.raises(Crash):
        rstack.rotation(momento=crashing, v2_revoke_grace_seconds=GRACE).run()
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])
    assert holder(rstack.client(), SECRET_ID, REVOKED_LABEL) is None
    # WHEN the next run comes THEN the repeated revoke counts as done (404) and the label is set
    again = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert again.revoke is not None
    assert again.revoke.revoked
    assert again.revoke.error is None
    assert holder(rstack.client(), SECRET_ID, REVOKED_LABEL) == holder(
        rstack.client(), SECRET_ID, "AWSPREVIOUS"
    )


def test_a_failed_promotion_record_does_not_fail_the_rotation_or_shorten_the_grace(
    rstack: RotatorStack,
) -> None:
    # GIVEN Secrets Manager refuses every write of the promotion record
    first = rstack.create_v2_secret()
    client = rstack.client()
    faults = SecretsManagerFaults(client)
    faults.fail("PutSecretValue", "InternalServiceError", 500, times=1000, when=staged(PROMOTED_LABEL))
    # WHEN a v2 rotation runs THEN it still rotates (the key is already current)
    rotated = rstack.rotation(client=client, v2_revoke_grace_seconds=GRACE).run(force=True)
    assert rotated.outcome is Outcome.ROTATED
    assert holder(rstack.client(), SECRET_ID, PROMOTED_LABEL) is None
    # AND the next run records the promotion, so the old key keeps a whole grace from then
    rstack.clock.advance(GRACE // 2)
    seen = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert holder(rstack.client(), SECRET_ID, PROMOTED_LABEL) is not None
    assert seen.revoke is not None
    assert not seen.revoke.revoked
    # (a grace after the promotion itself, the old key is still alive: its grace started later)
    rstack.clock.advance(GRACE // 2 + 60)
    still = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert still.revoke is not None
    assert not still.revoke.revoked
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])
    rstack.clock.advance(GRACE // 2)
    late = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert late.revoke is not None
    assert late.revoke.revoked


@pytest.mark.parametrize("shape", ["seed", "plain"])
def test_a_v2_key_without_its_endpoint_is_refused_before_any_claim(rstack: RotatorStack, shape: str) -> None:
    minted = rstack.mint_v2(30 * DAY)
    rstack.create_secret({"momento": minted.api_key} if shape == "seed" else minted.api_key)
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(SecretFormatError, match="endpoint"):
        rstack.rotation(momento=momento, momento_v2_role_id="owner").run(force=True)
    assert sum(momento.attempts.values()) == 0
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None


def test_native_rotation_waits_for_the_revoke_but_not_until_the_key_expires(rstack: RotatorStack) -> None:
    # GIVEN a rotated v2 secret whose previous key is in its grace
    grace = 25 * DAY
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=grace).run(force=True)
    token = "abababab-abab-4bab-8bab-abababababab"
    stage_rotation_token(SECRET_ID, token)

    def create() -> RotationResult:
        request = NativeStepRequest(SECRET_ID, token, "createSecret", None)
        return run_step(rstack.rotation(v2_revoke_grace_seconds=grace), request)

    # WHEN RotateSecret runs in the grace THEN createSecret backs off
    rstack.clock.advance(DAY)
    with pytest.raises(RotationInProgressError, match="revoke grace"):
        create()
    # WHEN the grace is over but the revoke keeps failing THEN it still backs off while there is time
    rstack.server.faults.set(unavailable=True, only=["DELETE /api-keys"])
    rstack.clock.advance(25 * DAY)
    with pytest.raises(MomentoUnavailableError):
        create()
    # WHEN less than a day of the current key is left THEN it rotates and reports the old key
    rstack.clock.advance(3 * DAY + 3600)
    created = create()
    assert created.revoke is not None
    assert created.revoke.error is not None
    assert first["keyId"] in str(created.revoke.error)
    for name in ("setSecret", "testSecret", "finishSecret"):
        run_step(
            rstack.rotation(v2_revoke_grace_seconds=grace), NativeStepRequest(SECRET_ID, token, name, None)
        )
    assert holder(rstack.client(), SECRET_ID, "AWSCURRENT") == token
    current = value(rstack.client(), SECRET_ID)
    assert_works(rstack.momento, current["apiKey"], current["endpoint"])


def test_after_an_operator_rollback_the_grace_runs_from_the_rollback(rstack: RotatorStack) -> None:
    # GIVEN v0 -> v1 (v0 revoked after its grace) -> v2, all by the rotator
    rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    rstack.clock.advance(GRACE + 60)
    assert rstack.rotation(v2_revoke_grace_seconds=GRACE).run().revoke.revoked  # type: ignore[union-attr]
    sm = rstack.client()
    v1_id = holder(sm, SECRET_ID, "AWSCURRENT")
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    v2_id = holder(sm, SECRET_ID, "AWSCURRENT")
    v2 = value(sm, SECRET_ID)
    # WHEN an operator rolls back to v1 (the runbook's update-secret-version-stage)
    rstack.clock.advance(120)
    sm.update_secret_version_stage(
        SecretId=SECRET_ID,
        VersionStage="AWSCURRENT",
        MoveToVersionId=v1_id or "",
        RemoveFromVersionId=v2_id or "",
    )
    assert holder(sm, SECRET_ID, "AWSPREVIOUS") == v2_id
    # THEN the key current minutes ago keeps its whole grace (before issue 11: revoked at once,
    # since v1's own promotion record dated from long before)
    rstack.clock.advance(120)
    soon = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert soon.revoke is not None
    assert not soon.revoke.revoked
    assert_works(rstack.momento, v2["apiKey"], v2["endpoint"])
    # AND it is revoked once the grace from the rollback has passed
    rstack.clock.advance(GRACE)
    late = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert late.revoke is not None
    assert late.revoke.revoked
    assert_refused(rstack.momento, v2["apiKey"], v2["endpoint"])


def test_a_never_expiring_v2_key_gets_an_expiring_successor(rstack: RotatorStack) -> None:
    minted = rstack.mint_v2(None)
    rstack.create_secret(
        {"apiKey": minted.api_key, "endpoint": minted.endpoint, "keyId": minted.key_id, "roleId": "owner"}
    )
    assert rstack.rotation().run().outcome is Outcome.SKIPPED
    rotated = rstack.rotation().run(force=True)
    assert rotated.outcome is Outcome.ROTATED
    # a never-expiring successor could only ever be retired by a person: 30 days instead
    assert value(rstack.client(), SECRET_ID)["validUntil"] == pytest.approx(rstack.clock() + 30 * DAY, abs=5)
    # and no configuration can ask for more than a year
    with pytest.raises(ConfigError, match="GENERATED_KEY_VALID_SECONDS"):
        rstack.settings(generated_key_valid_seconds=2 * 365 * DAY)


def test_an_operator_key_is_refused_before_anything_changes(rstack: RotatorStack) -> None:
    # GIVEN a v2 key with Momento's Operator role: it manages keys but is not a super-user
    # (roles-and-permissions.md), so it cannot mint the tokens the vendor and testSecret need
    minted = rstack.server.mint_v2_key(
        rstack.account, role_id="operator", expires_at=int(rstack.clock()) + 30 * DAY
    )
    document = {
        "apiKey": minted.api_key,
        "endpoint": minted.endpoint,
        "validUntil": minted.expires_at,
        "roleId": "operator",
        "keyId": minted.key_id,
    }
    version = rstack.create_secret(document)
    # WHEN the rotator runs THEN it asks for an Owner key, creating and changing nothing
    with pytest.raises(OperatorActionRequiredError, match="Owner"):
        rstack.rotation().run(force=True)
    stages = rstack.client().describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"]
    assert stages == {version: ["AWSCURRENT"]}
    listed = rstack.server.state.credentials.list_v2(rstack.account)
    assert [c.key_id for c in listed if c.role_id == "operator"] == [minted.key_id]
