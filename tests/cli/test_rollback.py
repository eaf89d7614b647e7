"""`keyguard rollback`, then rotations: the key rolled back from keeps its whole grace, nothing blocks.

The chain K0 -> A -> B makes A a version with an old promotion record (from K0 -> A). After
`rollback` A is current again; a revoke grace counted from that old record would revoke B, the
key that was current a moment ago, at once. It must run from the rollback.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.conftest import Cli
from tests.rotator.asserts import assert_refused, assert_works, holder, stages, value
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
HOUR = 3600
GRACE = 26 * HOUR


def _rotate(cli: Cli) -> dict[str, Any]:
    result = cli("rotate", "--force", "--json", SECRET_ID)
    assert result.code == 0, result.output
    (outcome,) = result.json()["results"]
    return dict(outcome)


def test_rollback_keeps_the_grace_of_the_key_rolled_back_from_then_rotation_carries_on(
    rstack: RotatorStack, cli: Cli
) -> None:
    sm = rstack.client()
    k0 = rstack.create_v2_secret()
    assert _rotate(cli)["outcome"] == "rotated"  # K0 -> A
    a = value(sm, SECRET_ID)
    a_version = holder(sm, SECRET_ID, "AWSCURRENT")
    rstack.clock.advance(GRACE + HOUR)
    assert _rotate(cli)["outcome"] == "rotated"  # revokes K0, A -> B
    b = value(sm, SECRET_ID)
    b_version = holder(sm, SECRET_ID, "AWSCURRENT")
    assert_refused(rstack.momento, k0["apiKey"], k0["endpoint"])

    # WHEN the operator looks first (no --yes) THEN nothing changes
    plan = cli("rollback", "--json", SECRET_ID)
    assert plan.code == 0, plan.output
    assert plan.json()["applied"] is False
    assert holder(sm, SECRET_ID, "AWSCURRENT") == b_version

    # WHEN they roll back
    done = cli("rollback", "--yes", "--json", SECRET_ID)
    assert done.code == 0, done.output
    rolled_back_at = rstack.clock()
    assert done.json()["applied"] is True

    # THEN A is current, B is AWSPREVIOUS, and B's grace runs from now
    assert holder(sm, SECRET_ID, "AWSCURRENT") == a_version
    assert holder(sm, SECRET_ID, "AWSPREVIOUS") == b_version
    status = cli("status", "--json", SECRET_ID).json()["secrets"][0]
    assert status["pending_revoke"]["key_id"] == b["keyId"]
    assert status["pending_revoke"]["due_at"] == pytest.approx(rolled_back_at + GRACE, abs=2)
    assert status["claim"] is None or status["claim"]["state"] == "finished"

    # WHEN a rotation follows at once THEN it waits for B's revoke, and B keeps working
    waited = _rotate(cli)
    assert waited["outcome"] == "skipped", waited
    assert waited["revoke_key_id"] == b["keyId"]
    assert waited["revoked"] is False
    assert_works(rstack.momento, b["apiKey"], b["endpoint"])
    assert value(sm, SECRET_ID)["keyId"] == a["keyId"]

    # WHEN the grace has passed THEN a rotation revokes B and rotates A -> C
    rstack.clock.advance(GRACE + 60)
    rotated = _rotate(cli)
    assert rotated["outcome"] == "rotated", rotated
    assert rotated["revoke_key_id"] == b["keyId"]
    assert rotated["revoked"] is True
    assert_refused(rstack.momento, b["apiKey"], b["endpoint"])
    c = value(sm, SECRET_ID)
    assert c["keyId"] not in {a["keyId"], b["keyId"]}
    assert holder(sm, SECRET_ID, "AWSPREVIOUS") == a_version
    assert_works(rstack.momento, a["apiKey"], a["endpoint"])


def test_rollback_then_immediate_rotation_is_not_blocked_by_the_finished_claim(
    rstack: RotatorStack, cli: Cli
) -> None:
    # GIVEN no revoke grace (so only the claim could hold the next rotation back)
    cli.env["V2_REVOKE_GRACE_SECONDS"] = "0"
    rstack.create_v2_secret()
    sm = rstack.client()
    original = holder(sm, SECRET_ID, "AWSCURRENT")
    assert _rotate(cli)["outcome"] == "rotated"
    assert cli("rollback", "--yes", SECRET_ID).code == 0
    assert holder(sm, SECRET_ID, "AWSCURRENT") == original

    # WHEN a rotation runs within the claim lease of the rotation rolled back
    rotated = _rotate(cli)

    # THEN it rotates (the rolled-back key is revoked: grace 0), not rotation_in_progress
    assert rotated["outcome"] == "rotated", rotated
    assert rotated["revoked"] is True


def test_rollback_refuses_what_would_lose_or_orphan_a_key(rstack: RotatorStack, cli: Cli) -> None:
    rstack.create_v2_secret()
    sm = rstack.client()
    # GIVEN a secret that was never rotated THEN there is nothing to roll back to
    refused = cli("rollback", "--yes", SECRET_ID)
    assert refused.code == 1
    assert "rollback_refused" in refused.output
    assert "no AWSPREVIOUS" in refused.output

    # GIVEN a successor waiting in AWSPENDING THEN the rollback is refused and nothing moves
    assert _rotate(cli)["outcome"] == "rotated"
    before = stages(sm, SECRET_ID)
    pending = sm.put_secret_value(
        SecretId=SECRET_ID,
        SecretString=sm.get_secret_value(SecretId=SECRET_ID)["SecretString"],
        VersionStages=["AWSPENDING"],
    )["VersionId"]
    refused = cli("rollback", "--yes", "--json", SECRET_ID)
    assert refused.code == 1
    assert refused.json()["error"] == "rollback_refused"
    assert pending in refused.json()["message"]
    after = stages(sm, SECRET_ID)
    after.pop(pending)
    assert after == before

    # GIVEN an AWSPREVIOUS key Momento refuses THEN the rollback is refused
    sm.update_secret_version_stage(SecretId=SECRET_ID, VersionStage="AWSPENDING", RemoveFromVersionId=pending)
    previous = value(sm, SECRET_ID, "AWSPREVIOUS")
    rstack.momento.revoke_v2(_master(value(sm, SECRET_ID)), previous["keyId"])
    refused = cli("rollback", "--yes", SECRET_ID)
    assert refused.code == 1
    assert "Momento refuses the AWSPREVIOUS key" in refused.output
    assert stages(sm, SECRET_ID) == before


def _master(document: dict[str, Any]) -> Any:
    from shared.momento_types import MasterKey

    return MasterKey(document["apiKey"], document["endpoint"])
