"""How a successor key is obtained: one small piece per Momento mechanism.

A strategy makes exactly one Momento call that issues key material and returns it; the
engine writes the result to Secrets Manager before anything else happens. `plan` chooses
the pieces in the order to try them: under `auto` a v1 key with a refresh token is
refreshed, and only when Momento refuses that token (spent by a run that crashed before it
could store the result, or expired) and the current key is still valid is a replacement
generated with the current super-user key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rotator.settings import StrategyChoice
from shared.errors import ConfigError, MomentoRefreshRefusedError, SecretFormatError
from shared.momento_access import MomentoAccess
from shared.momento_types import IssuedKey
from shared.secret_format import KeyGeneration, MasterSecret

#: Fallback lifetime for generated keys when neither settings nor the current key give one.
DEFAULT_GENERATED_LIFETIME_SECONDS = 30 * 86400


@dataclass(frozen=True)
class KeyRequest:
    """What a strategy needs besides the current secret."""

    secret_id: str
    now: float
    #: Lifetime for generated keys; None = as long as the current key lived (never if it never expires).
    valid_seconds: int | None
    #: Role for v2 successors when the secret does not name one.
    v2_role_id: str | None
    #: Goes into the v2 key's description so an orphaned key can be traced to its rotation.
    rotation_id: str


class Strategy(Protocol):
    name: str

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey: ...


def _lifetime(current: MasterSecret, request: KeyRequest) -> int | None:
    if request.valid_seconds is not None:
        return request.valid_seconds
    if current.valid_until is None:
        return None
    if current.issued_at is not None and current.valid_until > current.issued_at:
        return current.valid_until - current.issued_at
    return DEFAULT_GENERATED_LIFETIME_SECONDS


class Refresh:
    name = "refresh"

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey:
        if current.refresh_token is None:
            raise SecretFormatError(request.secret_id, "the refresh strategy needs a stored refresh token")
        return momento.refresh_v1(current.master_key(), current.refresh_token)


class Generate:
    name = "generate"

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey:
        return momento.generate_v1(current.master_key(), _lifetime(current, request))


class GenerateV2:
    name = "v2"

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey:
        role_id = current.role_id or request.v2_role_id
        if role_id is None:
            raise ConfigError(
                [f"secret {request.secret_id!r} stores no roleId for its v2 key; set MOMENTO_V2_ROLE_ID"]
            )
        lifetime = _lifetime(current, request)
        expires_at = None if lifetime is None else int(request.now) + lifetime
        description = f"keyguard rotation {request.rotation_id} of {request.secret_id}"
        return momento.generate_v2(current.master_key(), role_id, description, expires_at)


REFRESH = Refresh()
GENERATE = Generate()
V2 = GenerateV2()


def plan(
    choice: StrategyChoice, current: MasterSecret, secret_id: str, v2_role_id: str | None = None
) -> tuple[Strategy, ...]:
    """Strategies to try in order; the second is tried only after a refresh refusal.

    Everything checkable without Momento is checked here, before a rotation is claimed.
    """
    generation = current.generation
    if choice is StrategyChoice.V2 or (choice is StrategyChoice.AUTO and generation is KeyGeneration.V2):
        if generation is not KeyGeneration.V2:
            raise ConfigError([f"ROTATION_STRATEGY=v2 but secret {secret_id!r} holds a v1 key"])
        if current.endpoint is None:
            # Every Momento call with a v2 key needs its endpoint; refuse before claiming.
            raise SecretFormatError(
                secret_id, "a v2 key needs its endpoint: store JSON with 'endpoint' next to the key"
            )
        if current.role_id is None and v2_role_id is None:
            raise ConfigError(
                [f"secret {secret_id!r} stores no roleId for its v2 key; set MOMENTO_V2_ROLE_ID"]
            )
        return (V2,)
    if generation is KeyGeneration.V2:
        raise ConfigError(
            [f"ROTATION_STRATEGY={choice.value} cannot rotate the v2 key in {secret_id!r}; use auto or v2"]
        )
    if choice is StrategyChoice.REFRESH:
        if current.refresh_token is None:
            # Checked here, not in Refresh.obtain: after the claim it would block other runs.
            raise SecretFormatError(secret_id, "the refresh strategy needs a stored refresh token")
        return (REFRESH,)
    if choice is StrategyChoice.GENERATE or current.refresh_token is None:
        return (GENERATE,)
    return (REFRESH, GENERATE)


def may_fall_back(error: Exception, current: MasterSecret, now: float) -> bool:
    """A refused refresh may be replaced by `generate` only while the current key still works."""
    still_valid = current.valid_until is None or current.valid_until > now
    return isinstance(error, MomentoRefreshRefusedError) and still_valid
