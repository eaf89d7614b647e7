"""Typed errors shared by the rotator and the vendor.

Every failure that crosses a module boundary is one of these, so callers branch on
types (and the vendor maps them to HTTP statuses in one place) instead of matching
message text. Messages never contain key material: they name the secret, the step
and the problem, never a value.
"""

from __future__ import annotations


class KeyGuardError(Exception):
    """Base of every error this product raises on purpose."""

    #: Stable machine-readable code; the vendor puts it in error bodies, metrics use it as a dimension.
    code: str = "internal_error"
    #: True when retrying later may succeed (outage, throttling), False when an operator must act.
    retryable: bool = False


# --- configuration ----------------------------------------------------------------------------


class ConfigError(KeyGuardError):
    """The environment is missing or has bad settings; lists every problem at once."""

    code = "config_error"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


# --- the master secret ------------------------------------------------------------------------


class SecretFormatError(KeyGuardError):
    """A secret's value is not a shape we can read; the message never echoes the value."""

    code = "secret_format"

    def __init__(self, secret_id: str, problem: str) -> None:
        self.secret_id = secret_id
        self.problem = problem
        super().__init__(f"secret {secret_id!r} is not a Momento key secret: {problem}")


class SecretStoreError(KeyGuardError):
    """Secrets Manager failed or throttled; the operation may succeed later."""

    code = "secret_store_unavailable"
    retryable = True


class SecretNotFoundError(KeyGuardError):
    """The secret (or the requested version or stage) does not exist."""

    code = "secret_not_found"


class RotationStateError(KeyGuardError):
    """The secret's version stages do not allow this rotation step (AWS's protocol checks)."""

    code = "rotation_state"


class RotationInProgressError(RotationStateError):
    """Another rotation holds the secret; this run backs off instead of spending a refresh token twice."""

    code = "rotation_in_progress"
    retryable = True


# --- Momento ----------------------------------------------------------------------------------


class MomentoError(KeyGuardError):
    """Base for failures reported by Momento."""

    code = "momento_error"


class MomentoUnavailableError(MomentoError):
    """Momento could not be reached, timed out or answered with a server error."""

    code = "momento_unavailable"
    retryable = True


class MomentoAuthenticationError(MomentoError):
    """Momento refused the key: expired, revoked, or not a key at all."""

    code = "momento_authentication"


class MomentoPermissionError(MomentoError):
    """The key is valid but may not do this (for example a data-only key minting tokens)."""

    code = "momento_permission"


class MomentoRefreshRefusedError(MomentoError):
    """Momento refused the refresh token (spent, expired or not matching the key).

    An operator must store a fresh key and refresh token; the current secret is untouched.
    """

    code = "momento_refresh_refused"


class MomentoLimitExceededError(MomentoError):
    """Momento's per-account auth quota (a few operations per second) was exceeded."""

    code = "momento_limit_exceeded"
    retryable = True


class MomentoInvalidRequestError(MomentoError):
    """Momento rejected the request's arguments (bad scope, lifetime above its limit)."""

    code = "momento_invalid_request"


class MomentoNotFoundError(MomentoError):
    """The thing addressed (for example a v2 key id to revoke) does not exist."""

    code = "momento_not_found"


# --- vending ----------------------------------------------------------------------------------


class VendingError(KeyGuardError):
    """Base for errors answered to a vendor caller; `status` is the HTTP status."""

    code = "vending_error"
    status: int = 500


class BadRequestError(VendingError):
    code = "bad_request"
    status = 400


class UnknownScopeError(BadRequestError):
    code = "unknown_scope"


class UnauthenticatedError(VendingError):
    code = "unauthenticated"
    status = 401


class ForbiddenError(VendingError):
    code = "forbidden"
    status = 403


class PayloadTooLargeError(VendingError):
    code = "payload_too_large"
    status = 413


class MethodNotAllowedError(VendingError):
    code = "method_not_allowed"
    status = 405


class MintRefusedError(VendingError):
    """The vendor will not mint now (its own quota rules); nothing was minted. HTTP 429."""

    code = "mint_refused"
    status = 429
    retryable = True

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        #: Seconds until a retry can succeed (the `Retry-After` header).
        self.retry_after_seconds = max(1, retry_after_seconds)


class MintBudgetExceededError(MintRefusedError):
    """This principal used its mint budget for the current window."""

    code = "mint_budget_exceeded"


class AuthQuotaReservedError(MintRefusedError):
    """Vendors used their share of Momento's per-account auth quota; the rest is the rotator's."""

    code = "auth_quota_reserved"


# --- rotator events ---------------------------------------------------------------------------


class InvalidEventError(KeyGuardError):
    """The rotator was invoked with an event it does not understand; nothing was changed."""

    code = "invalid_event"


class RotationFailedError(KeyGuardError):
    """At least one secret of a rotator invocation failed; raised so Lambda retries and alarms see it."""

    code = "rotation_failed"


class OperatorActionRequiredError(KeyGuardError):
    """The rotator cannot renew this key by itself; a person must act (the message says how).

    Raised, for example, when Momento refuses the refresh token (a v1 key's only unattended way
    to renew) or the stored key cannot mint tokens. Counted as `OperatorActionRequired`.
    """

    code = "operator_action_required"

    def __init__(self, message: str, *, reason: str) -> None:
        #: A stable short name of why (`refresh_refused`, `no_refresh_token`, `key_cannot_mint`, ...).
        self.reason = reason
        super().__init__(message)


class RotationRefusedError(KeyGuardError):
    """A rotation was asked for that would do more harm than good (nothing was changed)."""

    code = "rotation_refused"


class InvalidNameError(BadRequestError):
    """`?name=` is not a valid token label (letters, digits, `._-`, at most 32 characters)."""

    code = "invalid_name"
