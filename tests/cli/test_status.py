"""`keyguard status` on the states the rotator really leaves behind (local stack, real runs)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli
from tests.rotator.asserts import holder, value
from tests.rotator.faults import Crash, MomentoFaults
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
GRACE = 26 * 3600
LEASE = 900


def test_status_shows_a_stuck_claim_an_orphan_and_a_pending_revoke(rstack: RotatorStack, cli: Cli) -> None:
    # GIVEN a v2 key rotated once (its predecessor in the revoke grace), to a successor that lives
    # less than the grace plus a day, so the next forced run may not wait for the revoke
    first = rstack.create_v2_secret()
    cli.env["GENERATED_KEY_VALID_SECONDS"] = str(20 * 3600)
    rotated = cli("rotate", "--force", SECRET_ID)
    assert rotated.code == 0, rotated.output
    promoted_at = rstack.clock()
    second = value(rstack.client(), SECRET_ID)
    # AND a run that died between Momento issuing its successor and storing it
    momento = MomentoFaults(rstack.momento)
    momento.crash_after("generate_v2")
    dying = rstack.rotation(momento=momento, generated_key_valid_seconds=20 * 3600)
    with pytest.raises(Crash):
        dying.run(force=True)
    rstack.clock.advance(60)

    # WHEN the operator asks
    report = cli("status", "--json", SECRET_ID)

    # THEN one report says all three, with who and until when
    assert report.code == 0, report.output
    (status,) = report.json()["secrets"]
    claim = status["claim"]
    assert claim["state"] == "held"
    assert claim["run_id"] == dying.run_id
    assert claim["lease_ends_at"] == pytest.approx(claim["claimed_at"] + LEASE)
    assert claim["for_version"] == holder(rstack.client(), SECRET_ID, "AWSCURRENT")
    revoke = status["pending_revoke"]
    assert (revoke["key_id"], revoke["state"]) == (first["keyId"], "in_grace")
    assert revoke["due_at"] == pytest.approx(promoted_at + GRACE, abs=2)
    (orphan,) = status["orphans"]
    assert orphan["key_id"] not in {first["keyId"], second["keyId"]}
    assert orphan["description"].endswith(f" of {SECRET_ID}")
    assert status["key"]["kind"] == "v2"
    assert status["key"]["key_id"] == second["keyId"]
    assert status["key"]["hours_left"] == pytest.approx(20 - 60 / 3600, abs=0.02)
    assert status["last_rotation"]["outcome"] == "in_progress"
    previous_id = holder(rstack.client(), SECRET_ID, "AWSPREVIOUS")
    assert status["versions"]["AWSPREVIOUS"]["version_id"] == previous_id

    # AND the human view names them too
    human = cli("status", SECRET_ID).output
    assert f"claim: held by run {dying.run_id}" in human
    assert f"pending revoke: v2 key {first['keyId']} (AWSPREVIOUS), in_grace" in human
    assert orphan["key_id"] in human

    # WHEN the lease has passed THEN the claim reads as abandoned (the next run takes over)
    rstack.clock.advance(LEASE)
    later = cli("status", "--json", SECRET_ID).json()["secrets"][0]
    assert later["claim"]["state"] == "abandoned"
    assert later["last_rotation"]["outcome"] == "interrupted"

    # WHEN a run takes over THEN it revokes the orphan, and status shows it recorded, none left alive
    taken_over = cli("rotate", "--force", "--json", SECRET_ID).json()["results"][0]
    assert taken_over.get("orphans_revoked") == 1, taken_over
    after = cli("status", "--json", SECRET_ID).json()["secrets"][0]
    assert after["orphans"] == []
    (recorded,) = after["orphans_recorded"]
    assert (recorded["key_id"], recorded["revoked"], recorded["kind"]) == (orphan["key_id"], True, "v2")


def test_status_of_a_v1_key_never_rotated(rstack: RotatorStack, cli: Cli) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    report = cli("status", "--json", SECRET_ID)
    assert report.code == 0, report.output
    (status,) = report.json()["secrets"]
    assert status["key"]["kind"] == "v1 with refresh token"
    assert status["rotation"]["due"] is False
    assert status["rotation"]["strategies"] == ["refresh"]
    assert status["claim"] is None
    assert status["orphans"] is None
    assert status["last_rotation"]["outcome"] == "never"


def test_status_shows_the_rotators_recent_outcomes_from_cloudwatch(rstack: RotatorStack, cli: Cli) -> None:
    # GIVEN a failed run counted in CloudWatch (moto's, as the rotator's EMF lines become metrics)
    import boto3

    rstack.create_secret(rstack.mint_v1().console_json())
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=rstack.stack.secrets_manager_endpoint_url, region_name="us-east-1"
    )
    cloudwatch.put_metric_data(
        Namespace="MomentoKeyGuard",
        MetricData=[
            {
                "MetricName": "RotationFailed",
                "Dimensions": [{"Name": "service", "Value": "keyguard-rotator"}],
                "Value": 1,
                "Unit": "Count",
            }
        ],
    )

    report = cli("status", "--json", SECRET_ID).json()

    outcomes = report["rotator_metrics"]["outcomes"]
    assert outcomes["RotationFailed"]["count"] == 1
    assert outcomes["RotationFailed"]["last_hour"] is not None
    assert outcomes["RotationSucceeded"] == {"count": 0, "last_hour": None}
    assert "RotationFailed: 1, last in the hour from" in cli("status", SECRET_ID).output


def test_status_of_a_claim_given_back_is_not_held(rstack: RotatorStack, cli: Cli) -> None:
    # GIVEN a run that claimed the rotation, then Momento refused the refresh (nothing issued),
    # so the rotator gave the claim back (its label now sits on a release record)
    from shared.errors import KeyGuardError, MomentoPermissionError

    rstack.create_secret(rstack.mint_v1(3600).console_json())
    momento = MomentoFaults(rstack.momento)
    momento.fail("refresh_v1", MomentoPermissionError("refused"))
    with pytest.raises(KeyGuardError):  # whichever typed error: the claim is what matters here
        rstack.rotation(momento=momento).run(force=True)

    # WHEN the operator asks, well within the claim lease
    report = cli("status", "--json", SECRET_ID)

    # THEN the claim is shown as given back, not as a run holding the rotation
    assert report.code == 0, report.output
    (status,) = report.json()["secrets"]
    assert status["claim"] is not None
    assert status["claim"]["state"] == "released"
