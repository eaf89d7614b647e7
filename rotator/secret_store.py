"""Secrets Manager operations the rotation needs, with bounded retries and typed errors.

Throttling, 5xx and network errors are retried here with exponential backoff (botocore's own
retries are switched off where the client is built, so attempts do not multiply and the bound
is this module's). Every call is idempotent on retry: puts carry a ClientRequestToken, stage
moves check whether a lost response had already done the move. Errors leave as
`shared.errors` types; a ClientRequestToken already used for a different value is
`VersionConflictError`, the compare-and-set that rotation claims rely on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from shared.errors import ConfigError, RotationStateError, SecretNotFoundError, SecretStoreError

if TYPE_CHECKING:
    # typing stubs only (boto3-stubs is a dev dependency, absent in Lambda)
    from mypy_boto3_secretsmanager import SecretsManagerClient

T = TypeVar("T")

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"

_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


_DEPLOYMENT_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "DecryptionFailure",
        "EncryptionFailure",
        "KMSAccessDeniedException",
    }
)


class VersionConflictError(RotationStateError):
    """The ClientRequestToken already names a version with a different value."""

    code = "version_conflict"


@dataclass(frozen=True)
class SecretState:
    """What DescribeSecret says about a secret's rotation and versions."""

    arn: str
    name: str
    rotation_enabled: bool
    stages: Mapping[str, tuple[str, ...]]

    def version_with(self, stage: str) -> str | None:
        return next((vid for vid, labels in self.stages.items() if stage in labels), None)


@dataclass(frozen=True)
class StoredVersion:
    version_id: str
    stages: tuple[str, ...]
    created_at: float
    #: None for a version that has no value yet (Secrets Manager's AWSPENDING placeholder).
    secret_string: str | None = field(repr=False)


def _created_epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


@dataclass
class SecretStore:
    """One secret's operations. `sleep` is injected so tests do not wait for backoff."""

    client: SecretsManagerClient
    secret_id: str
    max_attempts: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    # --- reads --------------------------------------------------------------------------------

    def describe(self) -> SecretState:
        response = self._call("DescribeSecret", lambda: self.client.describe_secret(SecretId=self.secret_id))
        return SecretState(
            arn=response["ARN"],
            name=response["Name"],
            rotation_enabled=bool(response.get("RotationEnabled", False)),
            stages={vid: tuple(labels) for vid, labels in response.get("VersionIdsToStages", {}).items()},
        )

    def get(self, *, version_id: str | None = None, stage: str | None = None) -> StoredVersion:
        """One version by id and/or stage; a version without a value comes back with None."""
        kwargs: dict[str, str] = {"SecretId": self.secret_id}
        if version_id is not None:
            kwargs["VersionId"] = version_id
        if stage is not None:
            kwargs["VersionStage"] = stage
        try:
            response = self._call("GetSecretValue", lambda: self.client.get_secret_value(**kwargs))
        except SecretNotFoundError:
            if version_id is None:
                raise
            # A placeholder version (RotateSecret's AWSPENDING before createSecret) has no value.
            state = self.describe()
            if version_id not in state.stages:
                raise
            return StoredVersion(version_id, state.stages[version_id], 0.0, None)
        return StoredVersion(
            version_id=response["VersionId"],
            stages=tuple(response.get("VersionStages", ())),
            created_at=_created_epoch(response.get("CreatedDate", 0)),
            secret_string=response.get("SecretString"),
        )

    # --- writes -------------------------------------------------------------------------------

    def put(self, token: str, secret_string: str, stages: tuple[str, ...]) -> None:
        """PutSecretValue with `token` as ClientRequestToken (so as VersionId), staged `stages`."""
        self._call(
            "PutSecretValue",
            lambda: self.client.put_secret_value(
                SecretId=self.secret_id,
                ClientRequestToken=token,
                SecretString=secret_string,
                VersionStages=list(stages),
            ),
        )

    def move_stage(self, stage: str, *, to_version: str | None, from_version: str | None) -> None:
        """UpdateSecretVersionStage, idempotent: a move that already happened counts as done."""
        kwargs: dict[str, str] = {"SecretId": self.secret_id, "VersionStage": stage}
        if to_version is not None:
            kwargs["MoveToVersionId"] = to_version
        if from_version is not None:
            kwargs["RemoveFromVersionId"] = from_version
        try:
            self._call("UpdateSecretVersionStage", lambda: self.client.update_secret_version_stage(**kwargs))
        except RotationStateError:
            # Refused because the labels already sit where asked: a retry after a lost response,
            # or a concurrent run that did the same move. Either way the requested state holds.
            if not self._stage_is(stage, to_version, from_version):
                raise

    def _stage_is(self, stage: str, to_version: str | None, from_version: str | None) -> bool:
        state = self.describe()
        on_target = to_version is None or stage in state.stages.get(to_version, ())
        off_source = from_version is None or stage not in state.stages.get(from_version, ())
        return on_target and off_source

    # --- retries and error mapping ------------------------------------------------------------

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                if code in _RETRYABLE_CODES or status >= 500:
                    failure: Exception = SecretStoreError(
                        f"Secrets Manager {operation} on {self.secret_id!r} failed with {code or status} "
                        f"after {attempt} attempt(s)"
                    )
                else:
                    raise self._mapped(operation, code, exc) from None
            except (ConnectionError, HTTPClientError) as exc:
                failure = SecretStoreError(
                    f"Secrets Manager {operation} on {self.secret_id!r} unreachable after {attempt} "
                    f"attempt(s): {type(exc).__name__}"
                )
            except BotoCoreError as exc:
                raise SecretStoreError(
                    f"Secrets Manager {operation} on {self.secret_id!r} failed: {type(exc).__name__}"
                ) from None
            if attempt >= self.max_attempts:
                raise failure
            delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            self.sleep(delay * (0.5 + random.random() / 2))

    def _mapped(self, operation: str, code: str, exc: ClientError) -> Exception:
        message = str(exc.response.get("Error", {}).get("Message", ""))[:300]
        where = f"Secrets Manager {operation} on {self.secret_id!r}"
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(f"{where}: not found ({message})")
        if code == "ResourceExistsException":
            return VersionConflictError(f"{where}: ClientRequestToken already used for another value")
        if code in {"InvalidRequestException", "InvalidParameterException"}:
            return RotationStateError(f"{where}: {code} ({message})")
        if code in _DEPLOYMENT_CODES:
            # Not an outage: the function's role or the secret's KMS key policy must change.
            return ConfigError([f"{where}: {code}; check the function's IAM policy and the secret's KMS key"])
        return SecretStoreError(f"{where}: {code} ({message})")
