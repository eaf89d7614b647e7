"""Fault injection at the rotator's two boundaries, around the real things (not mocks of logic).

- `SecretsManagerFaults` hooks a real boto3 client with botocore's event system: it can answer
  a call with an AWS error (ThrottlingException, 500 InternalServiceError) instead of sending
  it, or let the call reach moto and then "crash" (raise `Crash`) before the caller sees the
  answer, which is what a Lambda timeout or a dead container looks like to the next run.
- `MomentoFaults` wraps the real SDK-backed `MomentoAccess`: it counts calls and can crash right
  after a call that Momento has already carried out (a refresh token already spent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from mypy_boto3_secretsmanager import SecretsManagerClient

from shared.momento_access import ListedV2Key, MomentoAccess
from shared.momento_types import IssuedKey, MasterKey, VendedToken
from shared.permissions import Permission

Params = dict[str, Any]


class Crash(Exception):
    """The run dies here: nothing after this point happens."""


@dataclass
class _Rule:
    operation: str
    when: Callable[[Params], bool]
    times: int
    code: str | None = None
    status: int = 0
    crash_after: bool = False


class SecretsManagerFaults:
    def __init__(self, client: SecretsManagerClient) -> None:
        self.rules: list[_Rule] = []
        self.calls: list[tuple[str, Params]] = []
        events = client.meta.events
        events.register("provide-client-params.secretsmanager.*", self._remember)
        events.register("before-call.secretsmanager.*", self._before)
        events.register("after-call.secretsmanager.*", self._after)

    def fail(
        self,
        operation: str,
        code: str = "ThrottlingException",
        status: int = 400,
        *,
        times: int = 1,
        when: Callable[[Params], bool] = lambda _params: True,
    ) -> None:
        """Answer the next `times` matching calls with this AWS error without sending them."""
        self.rules.append(_Rule(operation, when, times, code=code, status=status))

    def crash_after(
        self, operation: str, *, when: Callable[[Params], bool] = lambda _params: True, times: int = 1
    ) -> None:
        """Let the next matching call reach Secrets Manager, then die before the answer is seen."""
        self.rules.append(_Rule(operation, when, times, crash_after=True))

    def clear(self) -> None:
        self.rules.clear()

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def _match(self, operation: str, params: Params, crash_after: bool) -> _Rule | None:
        for rule in self.rules:
            applies = rule.operation == operation and rule.crash_after is crash_after
            if applies and rule.times > 0 and rule.when(params):
                rule.times -= 1
                return rule
        return None

    def _remember(self, params: Params, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["keyguard_params"] = dict(params)
        self.calls.append((model.name, dict(params)))

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        rule = self._match(model.name, context.get("keyguard_params", {}), crash_after=False)
        if rule is None:
            return None
        context["keyguard_injected"] = True
        assert rule.code is not None
        parsed = {
            "Error": {"Code": rule.code, "Message": f"injected {rule.code}"},
            "ResponseMetadata": {"HTTPStatusCode": rule.status, "HTTPHeaders": {}},
        }
        return AWSResponse("https://secretsmanager.invalid/", rule.status, HTTPHeaders(), None), parsed

    def _after(self, model: Any, context: dict[str, Any], parsed: Any = None, **_: Any) -> None:
        if context.get("keyguard_injected"):
            return
        if isinstance(parsed, dict) and "Error" in parsed:
            return  # only a call Secrets Manager carried out counts (not a refused conflict)
        if self._match(model.name, context.get("keyguard_params", {}), crash_after=True) is not None:
            raise Crash(f"crashed after {model.name} reached Secrets Manager")


def staged(label: str) -> Callable[[Params], bool]:
    """Matches PutSecretValue / UpdateSecretVersionStage calls about `label`."""

    def check(params: Params) -> bool:
        return label in params.get("VersionStages", ()) or params.get("VersionStage") == label

    return check


class MomentoFaults:
    """The real access layer, counted, optionally dying right after a call Momento carried out."""

    def __init__(self, inner: MomentoAccess) -> None:
        self.inner = inner
        #: Calls made (whatever their outcome) and calls Momento answered with success.
        self.attempts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.crash_after_calls: Counter[str] = Counter()
        self._crash_skips: Counter[str] = Counter()
        self._failures: dict[str, list[tuple[int, Exception]]] = {}

    def crash_after(self, method: str, times: int = 1, *, skip: int = 0) -> None:
        """Die after the next `times` successful calls of `method`, once `skip` calls went through.

        `check_key` runs twice in a rotation: first on the current key (before anything is
        spent), then on the successor; `skip=1` crashes after the successor's test."""
        self.crash_after_calls[method] += times
        self._crash_skips[method] = skip

    def fail(self, method: str, error: Exception, *, skip: int = 0) -> None:
        """Answer one call of `method` with `error` (without calling Momento), after `skip` calls."""
        self._failures.setdefault(method, []).append((skip, error))

    def _before(self, method: str) -> None:
        self.attempts[method] += 1
        pending = self._failures.get(method, [])
        for index, (skip, error) in enumerate(pending):
            if skip <= 0:
                del pending[index]
                raise error
            pending[index] = (skip - 1, error)

    def _done(self, method: str) -> None:
        self.calls[method] += 1
        if self._crash_skips[method] > 0:
            self._crash_skips[method] -= 1
            return
        if self.crash_after_calls[method] > 0:
            self.crash_after_calls[method] -= 1
            raise Crash(f"crashed after Momento answered {method}")

    def refresh_v1(self, key: MasterKey, refresh_token: str) -> IssuedKey:
        self._before("refresh_v1")
        issued = self.inner.refresh_v1(key, refresh_token)
        self._done("refresh_v1")
        return issued

    def generate_v1(self, key: MasterKey, valid_for_seconds: int | None) -> IssuedKey:
        self._before("generate_v1")
        issued = self.inner.generate_v1(key, valid_for_seconds)
        self._done("generate_v1")
        return issued

    def generate_v2(
        self, key: MasterKey, role_id: str, description: str, expires_at: int | None
    ) -> IssuedKey:
        self._before("generate_v2")
        issued = self.inner.generate_v2(key, role_id, description, expires_at)
        self._done("generate_v2")
        return issued

    def revoke_v2(self, key: MasterKey, key_id: str) -> None:
        self._before("revoke_v2")
        self.inner.revoke_v2(key, key_id)
        self._done("revoke_v2")

    def mint_token(
        self,
        key: MasterKey,
        permissions: tuple[Permission, ...],
        expires_in_seconds: int,
        token_id: str | None,
    ) -> VendedToken:
        self._before("mint_token")
        token = self.inner.mint_token(key, permissions, expires_in_seconds, token_id)
        self._done("mint_token")
        return token

    def check_key(self, key: MasterKey) -> None:
        self._before("check_key")
        self.inner.check_key(key)
        self._done("check_key")

    def list_v2_keys(self, key: MasterKey) -> tuple[ListedV2Key, ...]:
        self._before("list_v2_keys")
        listed = self.inner.list_v2_keys(key)
        self._done("list_v2_keys")
        return listed

    def cache_get(self, key: MasterKey, cache_name: str, item_key: str) -> str | None:
        return self.inner.cache_get(key, cache_name, item_key)

    def cache_set(self, key: MasterKey, cache_name: str, item_key: str, value: str, ttl_seconds: int) -> None:
        self.inner.cache_set(key, cache_name, item_key, value, ttl_seconds)

    def increment(
        self, key: MasterKey, cache_name: str, item_key: str, amount: int, ttl_seconds: float
    ) -> int:
        return self.inner.increment(key, cache_name, item_key, amount, ttl_seconds)
