"""The vendor's configuration: one frozen object read from the environment at cold start.

Variable names are a contract with `template.yaml` (the SAM engineer copies them) and with
`vendor/README.md`; rename nothing here without changing both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config import CommonSettings, Env

AUTH_MODES = ("jwt", "lambda", "iam", "none")

#: Momento's own ceiling on a disposable token's lifetime (25 hours, per its published limits).
MOMENTO_MAX_TOKEN_TTL_SECONDS = 25 * 3600
#: One hour, the seeds' lifetime and our default policy cap.
DEFAULT_MAX_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class VendorSettings:
    """Everything the vendor reads from its environment, validated once."""

    common: CommonSettings
    #: Name or ARN of the Secrets Manager secret holding the master key.
    secret_id: str
    #: How callers are identified: jwt, lambda, iam, or none (development only).
    auth_mode: str
    #: JWT / Lambda-authorizer claim holding the caller's groups.
    groups_claim: str
    #: The vending policy document (parsed JSON; validated by `vendor.policy.Policy.from_json`).
    policy_document: Any
    #: Hard ceiling on any vended token's lifetime, whatever the policy says.
    max_token_ttl_seconds: int
    #: At most one Secrets Manager version check per this many seconds per container.
    version_check_interval_seconds: float
    #: A vended token is reused until this share of its lifetime has passed.
    token_reuse_fraction: float
    #: Momento cache shared by all containers for vended tokens; None keeps them in memory only.
    shared_token_cache_name: str | None
    #: Secret holding the random value that seals shared-cache entries (`vendor.sealed_store`);
    #: required with `shared_token_cache_name`.
    shared_token_cache_key_secret_id: str | None
    #: Origins allowed by CORS; empty disables CORS headers.
    cors_allow_origins: tuple[str, ...]
    #: Extra request headers allowed by CORS (Authorization and Content-Type are always allowed).
    cors_allow_headers: tuple[str, ...]
    #: CORS preflight cache lifetime in seconds.
    cors_max_age_seconds: int
    #: Request bodies above this many bytes are refused with 413.
    max_body_bytes: int
    #: Retry-After sent with 503 (Momento or Secrets Manager unavailable).
    unavailable_retry_after_seconds: int
    #: Retry-After sent with 429 (Momento's auth quota exceeded).
    throttled_retry_after_seconds: int
    #: Mints per principal per window (shared grants are not charged); see vendor/mint_budget.py.
    mint_budget_per_principal: int = 5
    mint_budget_window_seconds: int = 60
    #: Momento's auth operations per second per account, and the share vendors leave the rotator.
    auth_quota_per_second: float = 5.0
    auth_quota_reserve_per_second: float = 2.0
    #: A policy too large for the environment: SSM parameter or AppConfig (vendor/policy_source.py).
    policy_parameter: str | None = None
    policy_appconfig: str | None = None
    policy_max_age_seconds: int = 60

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> VendorSettings:
        env = Env(environ)
        settings = cls(
            common=CommonSettings.read(env),
            secret_id=env.str("SECRET_ID"),
            auth_mode=env.choice("AUTH_MODE", "jwt", AUTH_MODES),
            groups_claim=env.str("GROUPS_CLAIM", "cognito:groups"),
            policy_document=env.json("VENDING_POLICY", None),
            max_token_ttl_seconds=env.int(
                "MAX_TOKEN_TTL_SECONDS",
                DEFAULT_MAX_TOKEN_TTL_SECONDS,
                minimum=60,
                maximum=MOMENTO_MAX_TOKEN_TTL_SECONDS,
            ),
            version_check_interval_seconds=env.float(
                "VERSION_CHECK_INTERVAL_SECONDS", 30.0, minimum=0.0, maximum=3600.0
            ),
            token_reuse_fraction=env.float("TOKEN_REUSE_FRACTION", 0.8, minimum=0.0, maximum=0.95),
            shared_token_cache_name=env.optional_str("SHARED_TOKEN_CACHE_NAME"),
            shared_token_cache_key_secret_id=env.optional_str("SHARED_TOKEN_CACHE_KEY_SECRET_ID"),
            cors_allow_origins=env.str_list("CORS_ALLOW_ORIGINS"),
            cors_allow_headers=env.str_list("CORS_ALLOW_HEADERS"),
            cors_max_age_seconds=env.int("CORS_MAX_AGE_SECONDS", 600, minimum=0, maximum=86400),
            max_body_bytes=env.int("MAX_BODY_BYTES", 8192, minimum=256, maximum=1_048_576),
            unavailable_retry_after_seconds=env.int(
                "UNAVAILABLE_RETRY_AFTER_SECONDS", 5, minimum=1, maximum=3600
            ),
            throttled_retry_after_seconds=env.int(
                "THROTTLED_RETRY_AFTER_SECONDS", 1, minimum=1, maximum=3600
            ),
            mint_budget_per_principal=env.int("MINT_BUDGET_PER_PRINCIPAL", 5, minimum=1, maximum=10_000),
            mint_budget_window_seconds=env.int("MINT_BUDGET_WINDOW_SECONDS", 60, minimum=1, maximum=86_400),
            auth_quota_per_second=env.float("AUTH_QUOTA_PER_SECOND", 5.0, minimum=0.1, maximum=100_000.0),
            auth_quota_reserve_per_second=env.float(
                "AUTH_QUOTA_RESERVE_PER_SECOND", 2.0, minimum=0.0, maximum=100_000.0
            ),
            policy_parameter=env.optional_str("VENDING_POLICY_PARAMETER"),
            policy_appconfig=env.optional_str("VENDING_POLICY_APPCONFIG"),
            policy_max_age_seconds=env.int("VENDING_POLICY_MAX_AGE_SECONDS", 60, minimum=1, maximum=3600),
        )
        if settings.auth_quota_reserve_per_second >= settings.auth_quota_per_second:
            env.problems.append("AUTH_QUOTA_RESERVE_PER_SECOND must be below AUTH_QUOTA_PER_SECOND")
        sources = [s for s in (settings.policy_parameter, settings.policy_appconfig) if s]
        if len(sources) + (settings.policy_document is not None) > 1:
            env.problems.append(
                "set only one of VENDING_POLICY, VENDING_POLICY_PARAMETER and VENDING_POLICY_APPCONFIG"
            )
        elif (
            not sources
            and settings.policy_document is None
            and not any(p.startswith("VENDING_POLICY") for p in env.problems)
        ):
            env.problems.append("VENDING_POLICY is required (a JSON policy document)")
        if settings.shared_token_cache_name and not settings.shared_token_cache_key_secret_id:
            env.problems.append(
                "SHARED_TOKEN_CACHE_KEY_SECRET_ID is required with SHARED_TOKEN_CACHE_NAME "
                "(the secret whose value seals the shared cache's entries)"
            )
        env.check()
        return settings
