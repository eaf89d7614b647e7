"""`sam local invoke RotatorFunction` with every file in events/rotator/, against the local stack.

Each event is checked by what it must do to the secret's versions: a scheduled run keeps a
fresh key, a forced run replaces it, and the four native steps move a staged token through
AWSPENDING to AWSCURRENT, as Secrets Manager would drive them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.rotator.moto_state import stage_rotation_token
from tests.sam.helpers import EVENTS, Invoke, SeedSecret, WriteEnvVars, load_event

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from local.stack import LocalStack

pytestmark = pytest.mark.sam

ROTATOR_EVENTS = EVENTS / "rotator"
#: The secret name the rotator's sample events use.
SECRET_NAME = "momento/master-key"
NATIVE_STEPS = ("create-secret.json", "set-secret.json", "test-secret.json", "finish-secret.json")
MANUAL_EVENTS = ("rotate-now.json", "refresh-lambda-manual.json")
COVERED = {"scheduled.json", *MANUAL_EVENTS, *NATIVE_STEPS}


def stages(sm: SecretsManagerClient, secret_id: str) -> dict[str, list[str]]:
    return sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]


def version_with(sm: SecretsManagerClient, secret_id: str, stage: str) -> str:
    matches = [v for v, labels in stages(sm, secret_id).items() if stage in labels]
    assert len(matches) == 1, f"{stage} on {matches}"
    return matches[0]


def api_key(sm: SecretsManagerClient, secret_id: str, stage: str) -> str:
    value = json.loads(sm.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"])
    key: str = value["apiKey"]
    return key


def run(
    invoke: Invoke, write_env: WriteEnvVars, event: str, secret_arn: str, **options: Any
) -> dict[str, Any]:
    env_vars = write_env({"RotatorFunction": {"SECRET_IDS": secret_arn}})
    result = invoke("RotatorFunction", ROTATOR_EVENTS / event, env_vars, **options)
    assert "errorType" not in result.payload, f"{event}: {result.payload}\n{result.log[-3000:]}"
    (entry,) = result.payload["results"]
    assert isinstance(entry, dict)
    return entry


def test_every_rotator_event_is_exercised() -> None:
    assert {p.name for p in ROTATOR_EVENTS.glob("*.json")} == COVERED


def test_scheduled_run_keeps_a_fresh_key(
    invoke: Invoke, sam_env_vars: WriteEnvVars, seed_secret: SeedSecret, sm: SecretsManagerClient
) -> None:
    # GIVEN a key with 30 of its 30 days left
    arn = seed_secret(SECRET_NAME)
    before = stages(sm, arn)
    # WHEN the schedule fires
    # (as shipped: SAM adds the layer itself, as it does for users)
    entry = run(invoke, sam_env_vars, "scheduled.json", arn, as_shipped=True)
    # THEN nothing is due and the versions are untouched
    assert entry["outcome"] == "skipped", entry
    assert stages(sm, arn) == before


@pytest.mark.parametrize("event", MANUAL_EVENTS)
def test_rotate_now_replaces_the_key(
    event: str,
    invoke: Invoke,
    sam_env_vars: WriteEnvVars,
    seed_secret: SeedSecret,
    sm: SecretsManagerClient,
    sam_stack: LocalStack,
) -> None:
    arn = seed_secret(SECRET_NAME)
    old_version = version_with(sm, arn, "AWSCURRENT")
    old_key = api_key(sm, arn, "AWSCURRENT")
    # WHEN a person forces a rotation (the event names the secret)
    entry = run(invoke, sam_env_vars, event, arn)
    # THEN a new key from the Momento server is AWSCURRENT and the old version is AWSPREVIOUS
    assert entry["outcome"] == "rotated", entry
    new_version = version_with(sm, arn, "AWSCURRENT")
    assert new_version != old_version
    assert "AWSPREVIOUS" in stages(sm, arn)[old_version]
    new_key = api_key(sm, arn, "AWSCURRENT")
    assert new_key != old_key
    assert sam_stack.momento.credential(new_key) is not None


def test_native_rotation_steps_in_order(
    invoke: Invoke, sam_env_vars: WriteEnvVars, seed_secret: SeedSecret, sm: SecretsManagerClient
) -> None:
    # GIVEN the state RotateSecret leaves: the events' token staged as a valueless AWSPENDING
    arn = seed_secret(SECRET_NAME)
    token = load_event(ROTATOR_EVENTS / "create-secret.json")["ClientRequestToken"]
    assert {load_event(ROTATOR_EVENTS / name)["ClientRequestToken"] for name in NATIVE_STEPS} == {token}
    old_version = version_with(sm, arn, "AWSCURRENT")
    old_key = api_key(sm, arn, "AWSCURRENT")
    stage_rotation_token(SECRET_NAME, token)

    # createSecret puts a new key on the token, still pending
    assert run(invoke, sam_env_vars, "create-secret.json", arn)["outcome"] != "failed"
    assert version_with(sm, arn, "AWSPENDING") == token
    pending_key = api_key(sm, arn, "AWSPENDING")
    assert pending_key != old_key
    assert version_with(sm, arn, "AWSCURRENT") == old_version

    # setSecret and testSecret change no stage
    for step in ("set-secret.json", "test-secret.json"):
        assert run(invoke, sam_env_vars, step, arn)["outcome"] != "failed", step
        assert version_with(sm, arn, "AWSCURRENT") == old_version
        assert version_with(sm, arn, "AWSPENDING") == token

    # finishSecret promotes the token
    assert run(invoke, sam_env_vars, "finish-secret.json", arn)["outcome"] != "failed"
    assert version_with(sm, arn, "AWSCURRENT") == token
    assert "AWSPREVIOUS" in stages(sm, arn)[old_version]
    assert api_key(sm, arn, "AWSCURRENT") == pending_key
