"""The rotator's configuration, read once per execution environment.

The template (template.yaml) sets these variables; the names are part of the contract with
it. Every problem is reported at once by `shared.config.Env`.

| variable | default | meaning |
|---|---|---|
| `SECRET_IDS` | (none) | secret names/ARNs (comma list) a scheduled run rotates by default |
| `ROTATION_THRESHOLD` | `0.3333` | rotate when less than this fraction of the key's lifetime remains |
| `ROTATION_STRATEGY` | `auto` | `auto`, `refresh` or `v2` (`generate` is refused) |
| `GENERATED_KEY_VALID_SECONDS` | (unset) | lifetime of `v2` successors (max 365 d); unset = current key's |
| `MOMENTO_V2_ROLE_ID` | (unset) | role for v2 successors when the secret does not store `roleId` |
| `V2_REVOKE_GRACE_SECONDS` | `93600` | a replaced v2 key lives this long, then a later run revokes it |
| `CLAIM_LEASE_SECONDS` | `900` | an unfinished claim counts as abandoned after this (min 120: 2x timeout) |
| `SECRETS_MANAGER_MAX_ATTEMPTS` | `5` | attempts per Secrets Manager call (throttling, 5xx, network) |

Plus `shared.config.CommonSettings` (`SECRETS_MANAGER_ENDPOINT_URL`, `MOMENTO_LOCAL_ENDPOINT`,
`MOMENTO_API_KEYS_URL`, `MOMENTO_TIMEOUT_SECONDS`) and Powertools' own
`POWERTOOLS_SERVICE_NAME` / `POWERTOOLS_METRICS_NAMESPACE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shared.config import CommonSettings, Env

#: Momento caps a disposable token at 25 hours; one more hour covers vendors' cache refresh.
DEFAULT_V2_REVOKE_GRACE_SECONDS = 26 * 3600
#: Longest lifetime the rotator gives a key it creates: a never-expiring successor would be a
#: key that can only ever be retired by a person.
MAX_GENERATED_LIFETIME_SECONDS = 365 * 86400
#: Why `ROTATION_STRATEGY=generate` is refused (it was a fallback in earlier versions).
GENERATE_REFUSED = (
    "ROTATION_STRATEGY: 'generate' cannot work: a v1 super-user key may generate only data-only keys, "
    "which cannot mint tokens (Momento answers PERMISSION_ERROR for a super-user key); use auto, "
    "refresh or v2"
)
#: Lambda's longest timeout: a claim older than this cannot belong to a run that is still alive.
DEFAULT_CLAIM_LEASE_SECONDS = 900


class StrategyChoice(StrEnum):
    AUTO = "auto"
    REFRESH = "refresh"
    V2 = "v2"


@dataclass(frozen=True)
class RotatorSettings:
    common: CommonSettings
    secret_ids: tuple[str, ...]
    rotation_threshold: float
    strategy: StrategyChoice
    generated_key_valid_seconds: int | None
    v2_role_id: str | None
    v2_revoke_grace_seconds: int
    claim_lease_seconds: int
    secrets_manager_max_attempts: int
    #: Momento cache the new AWSCURRENT VersionId is published in after a promotion (the vendor's
    #: shared token cache; `rotator.version_hint`); None publishes nothing.
    version_hint_cache_name: str | None = None

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> RotatorSettings:
        """Build the settings; raises one `ConfigError` listing every bad variable."""
        env = Env(environ)
        valid_seconds = env.int(
            "GENERATED_KEY_VALID_SECONDS", 0, minimum=0, maximum=MAX_GENERATED_LIFETIME_SECONDS
        )
        strategy = StrategyChoice.AUTO
        if (env.optional_str("ROTATION_STRATEGY") or "").strip().lower() == "generate":
            env.problems.append(GENERATE_REFUSED)
        else:
            strategy = StrategyChoice(
                env.choice("ROTATION_STRATEGY", "auto", tuple(choice.value for choice in StrategyChoice))
            )
        settings = cls(
            common=CommonSettings.read(env),
            secret_ids=env.str_list("SECRET_IDS"),
            rotation_threshold=env.float("ROTATION_THRESHOLD", 1 / 3, minimum=0.0, maximum=1.0),
            strategy=strategy,
            generated_key_valid_seconds=valid_seconds or None,
            v2_role_id=env.optional_str("MOMENTO_V2_ROLE_ID"),
            v2_revoke_grace_seconds=env.int(
                "V2_REVOKE_GRACE_SECONDS", DEFAULT_V2_REVOKE_GRACE_SECONDS, minimum=0, maximum=30 * 86400
            ),
            # A live run must never look abandoned: the lease stays at least twice the template's
            # 60 s function timeout (raise it with the timeout).
            claim_lease_seconds=env.int("CLAIM_LEASE_SECONDS", DEFAULT_CLAIM_LEASE_SECONDS, minimum=120),
            secrets_manager_max_attempts=env.int("SECRETS_MANAGER_MAX_ATTEMPTS", 5, minimum=1, maximum=10),
            version_hint_cache_name=env.optional_str("VERSION_HINT_CACHE_NAME"),
        )
        env.check()
        return settings
