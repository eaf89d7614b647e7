"""How a successor key is obtained: one small piece per Momento mechanism.

A strategy makes exactly one Momento call that issues key material and returns it; the
engine writes the result to Secrets Manager before anything else happens. `plan` chooses the
one that applies, or says why none does:

- a v1 key with a refresh token: `refresh` (Auth.RefreshApiToken). That is the only way a v1
  key renews: a v1 super-user key may generate only data-only keys, which cannot mint tokens
  (generating a super-user key from a v1 key is PERMISSION_ERROR; Momento's JS SDK integration
  tests, `auth-client.ts`). So a refused refresh token, or a v1 key without one, is an
  operator's job (`OperatorActionRequiredError`, with the runbook in its message).
- a v2 key: `v2` (POST /api-keys with the same role), which renews unattended forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rotator.orphans import description_for
from rotator.settings import MAX_GENERATED_LIFETIME_SECONDS, StrategyChoice
from shared.errors import ConfigError, OperatorActionRequiredError, SecretFormatError
from shared.momento_access import MomentoAccess
from shared.momento_types import IssuedKey
from shared.secret_format import KeyGeneration, MasterSecret

#: Lifetime of a v2 successor when neither the settings nor the current key give one (a current
#: key that never expires gets an expiring successor: the rotator never creates a key only a
#: person could retire).
DEFAULT_GENERATED_LIFETIME_SECONDS = 30 * 86400

#: The runbook for a v1 key the rotator cannot renew; README "Operator actions" has the same steps.
V1_RUNBOOK = (
    "Either (a) create a new super-user API key with a refresh token in the Momento console "
    "and store what it downloads as the secret's value (aws secretsmanager put-secret-value "
    "--secret-id <secret> --secret-string file://momento-api-key.json); the next run carries on "
    "from it; or (b) migrate to a v2 API key, which the rotator renews by itself: store "
    '{"apiKey", "endpoint", "keyId", "roleId"} (see rotator/README.md). The current key keeps '
    "working until it expires; the secret was not changed."
)


@dataclass(frozen=True)
class KeyRequest:
    """What a strategy needs besides the current secret."""

    secret_id: str
    now: float
    #: Lifetime for v2 successors; None = as long as the current key lived.
    valid_seconds: int | None
    #: Role for v2 successors when the secret does not name one.
    v2_role_id: str | None
    #: Goes into the v2 key's description so an orphaned key can be traced to its rotation.
    rotation_id: str


class Strategy(Protocol):
    name: str

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey: ...


def generated_lifetime(current: MasterSecret, request: KeyRequest) -> int:
    """Seconds a created key lives: the settings', else the current key's; never forever, capped."""
    lifetime = request.valid_seconds
    if lifetime is None and current.valid_until is not None:
        issued_at = current.issued_at
        if issued_at is not None and current.valid_until > issued_at:
            lifetime = current.valid_until - issued_at
    return min(lifetime or DEFAULT_GENERATED_LIFETIME_SECONDS, MAX_GENERATED_LIFETIME_SECONDS)


class Refresh:
    name = "refresh"

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey:
        if current.refresh_token is None:
            raise SecretFormatError(request.secret_id, "the refresh strategy needs a stored refresh token")
        return momento.refresh_v1(current.master_key(), current.refresh_token)


class GenerateV2:
    name = "v2"

    def obtain(self, momento: MomentoAccess, current: MasterSecret, request: KeyRequest) -> IssuedKey:
        role_id = current.role_id or request.v2_role_id
        if role_id is None:
            raise ConfigError(
                [f"secret {request.secret_id!r} stores no roleId for its v2 key; set MOMENTO_V2_ROLE_ID"]
            )
        expires_at = int(request.now) + generated_lifetime(current, request)
        description = description_for(request.rotation_id, request.secret_id)
        return momento.generate_v2(current.master_key(), role_id, description, expires_at)


REFRESH = Refresh()
V2 = GenerateV2()


def plan(
    choice: StrategyChoice, current: MasterSecret, secret_id: str, v2_role_id: str | None = None
) -> tuple[Strategy]:
    """The strategy for this key (a one-element tuple: there is no fallback), or why none applies.

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
    if current.refresh_token is None:
        # Checked here, not in Refresh.obtain: after the claim it would block other runs.
        raise OperatorActionRequiredError(
            f"the v1 key in {secret_id!r} has no refresh token, so nothing can renew it unattended "
            f"(a v1 key cannot generate a super-user successor). {V1_RUNBOOK}",
            reason="no_refresh_token",
        )
    return (REFRESH,)
