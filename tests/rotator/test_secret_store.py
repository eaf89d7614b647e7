"""SecretStore against moto's server: bounded retries, idempotent writes, typed errors.

Faults are injected into the real boto3 client with botocore's event hooks (moto's server
cannot throttle); the logic under test is the store's, unmocked.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from mypy_boto3_secretsmanager import SecretsManagerClient

from rotator.secret_store import CURRENT, PENDING, PREVIOUS, SecretStore, VersionConflictError
from shared.errors import ConfigError, RotationStateError, SecretNotFoundError, SecretStoreError
from tests.rotator.faults import Crash, SecretsManagerFaults
from tests.rotator.moto_state import stage_rotation_token

NAME = "store/test"


@pytest.fixture
def store(sm: SecretsManagerClient) -> SecretStore:
    sm.create_secret(Name=NAME, SecretString="first")
    return SecretStore(sm, NAME, max_attempts=4, sleep=lambda _s: None)


def test_reads_stages_and_values(store: SecretStore) -> None:
    state = store.describe()
    current = store.get(stage=CURRENT)
    assert state.version_with(CURRENT) == current.version_id
    assert current.secret_string == "first"
    assert current.created_at > 0


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("InternalServiceError", 500), ("ServiceUnavailable", 503)],
)
@pytest.mark.parametrize("operation", ["DescribeSecret", "GetSecretValue", "PutSecretValue"])
def test_throttling_and_5xx_are_retried_until_they_pass(
    sm: SecretsManagerClient, store: SecretStore, operation: str, code: str, status: int
) -> None:
    faults = SecretsManagerFaults(sm)
    faults.fail(operation, code, status, times=3)
    if operation == "DescribeSecret":
        assert store.describe().name == NAME
    elif operation == "GetSecretValue":
        assert store.get(stage=CURRENT).secret_string == "first"
    else:
        store.put("11111111-1111-4111-8111-111111111111", "second", (PENDING,))
        assert store.get(stage=PENDING).secret_string == "second"
    assert faults.count(operation) == 4


def test_retries_are_bounded_and_end_in_a_retryable_error(
    sm: SecretsManagerClient, store: SecretStore
) -> None:
    faults = SecretsManagerFaults(sm)
    faults.fail("PutSecretValue", "ThrottlingException", times=10)
    with pytest.raises(SecretStoreError, match="ThrottlingException after 4 attempt") as raised:
        store.put("11111111-1111-4111-8111-111111111111", "second", (PENDING,))
    assert raised.value.retryable
    assert faults.count("PutSecretValue") == 4
    assert store.describe().version_with(PENDING) is None


def test_a_put_whose_answer_was_lost_is_repeated_harmlessly(
    sm: SecretsManagerClient, store: SecretStore
) -> None:
    # GIVEN the first PutSecretValue reaches Secrets Manager but its answer is lost
    faults = SecretsManagerFaults(sm)
    faults.crash_after("PutSecretValue")
    token = "22222222-2222-4222-8222-222222222222"
    with pytest.raises(Crash):
        store.put(token, "second", (PENDING,))
    # WHEN the same value is put again with the same token THEN it is a no-op success
    store.put(token, "second", (PENDING,))
    assert store.get(version_id=token).secret_string == "second"


def test_the_same_token_with_another_value_is_a_version_conflict(store: SecretStore) -> None:
    token = "33333333-3333-4333-8333-333333333333"
    store.put(token, "claim by run A", ("KEYGUARD_CLAIM",))
    with pytest.raises(VersionConflictError):
        store.put(token, "claim by run B", ("KEYGUARD_CLAIM",))
    assert store.get(version_id=token).secret_string == "claim by run A"


def test_moving_a_stage_twice_is_idempotent(sm: SecretsManagerClient, store: SecretStore) -> None:
    old = store.describe().version_with(CURRENT)
    new = "44444444-4444-4444-8444-444444444444"
    store.put(new, "second", (PENDING,))
    # GIVEN the move reached Secrets Manager and the answer was lost
    faults = SecretsManagerFaults(sm)
    faults.crash_after("UpdateSecretVersionStage")
    with pytest.raises(Crash):
        store.move_stage(CURRENT, to_version=new, from_version=old)
    # WHEN it is repeated THEN the state it asked for holds and no error is raised
    store.move_stage(CURRENT, to_version=new, from_version=old)
    state = store.describe()
    assert state.version_with(CURRENT) == new
    assert state.version_with(PREVIOUS) == old


def test_an_impossible_move_is_a_rotation_state_error(store: SecretStore) -> None:
    with pytest.raises(RotationStateError):
        store.move_stage(CURRENT, to_version="55555555-5555-4555-8555-555555555555", from_version=None)


def test_a_missing_secret_is_not_found(sm: SecretsManagerClient) -> None:
    with pytest.raises(SecretNotFoundError):
        SecretStore(sm, "no/such/secret", sleep=lambda _s: None).describe()


def test_a_placeholder_version_reads_as_having_no_value(sm: SecretsManagerClient, store: SecretStore) -> None:
    # AWS's RotateSecret stages a valueless AWSPENDING version before createSecret.
    token = "66666666-6666-4666-8666-666666666666"
    stage_rotation_token(NAME, token)
    placeholder = store.get(version_id=token)
    assert placeholder.secret_string is None
    assert PENDING in placeholder.stages


def test_an_unreachable_endpoint_is_retried_then_a_retryable_error() -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
    )
    slept: list[float] = []
    with pytest.raises(SecretStoreError, match="unreachable after 3 attempt") as raised:
        SecretStore(client, NAME, max_attempts=3, sleep=slept.append).describe()
    assert raised.value.retryable
    # exponential backoff with jitter: base 50 ms, then 100 ms, each scaled by 0.5-1.0
    assert len(slept) == 2
    assert 0.025 <= slept[0] <= 0.05
    assert 0.05 <= slept[1] <= 0.1


def test_access_denied_is_a_deployment_problem_not_an_outage(
    sm: SecretsManagerClient, store: SecretStore
) -> None:
    faults = SecretsManagerFaults(sm)
    faults.fail("PutSecretValue", "AccessDeniedException", 400, times=10)
    with pytest.raises(ConfigError, match="IAM policy"):
        store.put("11111111-1111-4111-8111-111111111111", "second", (PENDING,))
    assert faults.count("PutSecretValue") == 1
