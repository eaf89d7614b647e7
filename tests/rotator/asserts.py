"""Named checks the rotator tests share."""

from __future__ import annotations

import json
from typing import Any

from mypy_boto3_secretsmanager import SecretsManagerClient

from shared.errors import MomentoAuthenticationError
from shared.momento_access import MomentoAccess
from shared.momento_types import MasterKey


def stages(sm: SecretsManagerClient, secret_id: str) -> dict[str, list[str]]:
    """VersionId -> staging labels, without versions that carry none."""
    described = sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    return {version: labels for version, labels in described.items() if labels}


def holder(sm: SecretsManagerClient, secret_id: str, label: str) -> str | None:
    return next((v for v, labels in stages(sm, secret_id).items() if label in labels), None)


def value(sm: SecretsManagerClient, secret_id: str, stage: str = "AWSCURRENT") -> Any:
    text = sm.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
    try:
        return json.loads(text)
    except ValueError:
        return text


def assert_works(momento: MomentoAccess, api_key: str, endpoint: str | None = None) -> None:
    """The key mints a disposable token (raises the typed error if it cannot)."""
    momento.check_key(MasterKey(api_key, endpoint))


def assert_refused(momento: MomentoAccess, api_key: str, endpoint: str | None = None) -> None:
    try:
        momento.check_key(MasterKey(api_key, endpoint))
    except MomentoAuthenticationError:
        return
    raise AssertionError("the key still works")


def assert_clean_after_rotation(sm: SecretsManagerClient, secret_id: str) -> None:
    """One AWSCURRENT and no AWSPENDING left anywhere: the next RotateSecret is not refused."""
    labels = stages(sm, secret_id)
    assert sum("AWSCURRENT" in staged for staged in labels.values()) == 1
    assert not any("AWSPENDING" in staged for staged in labels.values()), labels


def assert_no_live_claim(sm: SecretsManagerClient, secret_id: str) -> None:
    """No run holds the rotation: no claim label, or it sits on a release record."""
    claim = holder(sm, secret_id, "KEYGUARD_CLAIM")
    if claim is None:
        return
    record = json.loads(sm.get_secret_value(SecretId=secret_id, VersionId=claim)["SecretString"])
    assert record.get("released") is True, record
