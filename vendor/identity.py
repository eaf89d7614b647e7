"""Who is calling, read only from what API Gateway verified (never from headers the client sets).

HTTP API payload v2 puts the authorizer's result under `requestContext.authorizer`:
`jwt.claims` for JWT authorizers (Cognito or any OIDC issuer), `lambda` for a Lambda
authorizer's context, `iam` for IAM-signed calls. `none` uses the source IP, as seed 000's
open TVM does: development only, since anyone can be anyone behind a NAT.

Groups decide which policy rules match, so their parsing must never produce a group the
caller is not in. Accepted serialisations, per auth mode (anything else is ambiguous: no
groups at all, and a warning in the log):

* jwt: a JSON array of non-empty strings (as a list), or API Gateway's flattened form of an
  array claim. HTTP API JWT authorizers hand array claims to the integration as one string,
  `[a b c]`: the elements joined by single spaces inside brackets, no quoting. That form is
  unambiguous only when names cannot contain a space. Cognito group names match
  `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+` (CreateGroup API reference): no space, no other
  whitespace, no control character. So the flattened form is split on single spaces only for
  a Cognito issuer (`iss` is `https://cognito-idp.<region>.amazonaws.com/<pool>`, verified
  by the authorizer) and only when every part is a legal Cognito group name; for other
  issuers a flattened value with a space in it is refused, a single name is accepted. A plain
  string (no brackets) is one group, never split.
* lambda: a JSON array of non-empty strings, as a list or as JSON text (a string beginning
  with `[`), or a plain string naming exactly one group. Nothing is split on commas or
  whitespace: `"sales admins,members"` is the one group of that name.
* iam, none: no groups.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from shared.errors import BadRequestError, UnauthenticatedError
from vendor.token_id import token_id

logger = logging.getLogger(__name__)

#: The issuer of Cognito user pool tokens (verified by the JWT authorizer against its config).
COGNITO_ISSUER = re.compile(r"https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[\w-]+")
#: Unicode categories Cognito allows in group names (CreateGroup: [\p{L}\p{M}\p{S}\p{N}\p{P}]+).
_COGNITO_GROUP_CATEGORIES = frozenset("LMSNP")
_COGNITO_GROUP_MAX = 128
#: IAM principals whose name an administrator chose (users, the account root); STS session
#: names (assumed roles, federated users) are chosen by whoever called AssumeRole.
_IAM_NAMED_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(user/.+|root)")


@dataclass(frozen=True)
class Identity:
    """A verified caller: a stable principal, its groups and its string-valued claims."""

    #: jwt: `sub`; lambda: `sub` (or `principalId`); iam: the Cognito identity id or the caller ARN;
    #: none: the source IP.
    principal: str
    groups: tuple[str, ...] = ()
    claims: Mapping[str, str] = field(default_factory=dict)
    #: False when the caller chose its own principal (an STS session name): then `{sub}` and
    #: `{principal}` render nothing in a policy, so no resource is named after it.
    names_resources: bool = True
    #: Its groups claim was ambiguous (so it is in no group, with a warning logged each time):
    #: such a caller is never answered from memory, so the warning stays per request.
    ambiguous_groups: bool = field(default=False, compare=False)

    @property
    def token_id(self) -> str:
        """The token id recorded by Momento: traceable to the caller, within Momento's limit."""
        return token_id(self.principal)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_text(value: Any) -> TypeGuard[str]:
    """A non-empty string that is valid Unicode (no lone surrogate).

    ASCII needs no encoding to know (a surrogate is not ASCII): `isascii` reads a flag the
    string already carries, several times cheaper than the UTF-8 encode every claim paid."""
    return isinstance(value, str) and value != "" and (value.isascii() or _encodes(value))


def _principal(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise UnauthenticatedError(f"{what} is not a non-empty string")
    if not _is_text(value):
        raise BadRequestError(f"{what} is not valid Unicode")
    return value


def _string_claims(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only scalar, valid-Unicode claims become placeholder values; objects and lists never do."""
    out: dict[str, str] = {}
    for name, value in raw.items():
        # `_is_text`, inlined: this loop runs for every claim of every request.
        if not isinstance(name, str) or not name or not (name.isascii() or _encodes(name)):
            continue
        if isinstance(value, str):
            if value and (value.isascii() or _encodes(value)):
                out[name] = value
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int | float) and abs(value) < 10**18:  # not NaN, not huge
            out[name] = str(value)
    return out


def _names(items: list[Any]) -> tuple[str, ...] | None:
    if not all(_is_text(item) for item in items):
        return None
    return tuple(sorted(set(items)))


def _cognito_group_name(name: str) -> bool:
    if not 0 < len(name) <= _COGNITO_GROUP_MAX:
        return False
    if name.isascii():
        # ASCII in L, M, S, N or P is exactly "!" to "~": printable, and not the space (Zs).
        return name.isprintable() and " " not in name
    return all(unicodedata.category(ch)[0] in _COGNITO_GROUP_CATEGORIES for ch in name)


def jwt_groups(value: Any, *, cognito: bool) -> tuple[str, ...] | None:
    """Groups of a JWT authorizer's claim value; None when ambiguous (see the module docstring)."""
    if value is None:
        return ()
    if isinstance(value, list):
        return _names(value)
    if not isinstance(value, str):
        return None
    if not (len(value) >= 2 and value.startswith("[") and value.endswith("]")):
        return _names([value]) if value else ()
    inner = value[1:-1]
    if not inner:
        return ()
    parts = inner.split(" ")
    if cognito:
        return _names(parts) if all(_cognito_group_name(p) for p in parts) else None
    return _names(parts) if len(parts) == 1 else None


def lambda_groups(value: Any) -> tuple[str, ...] | None:
    """Groups of a Lambda authorizer's context value; None when ambiguous."""
    if value is None:
        return ()
    if isinstance(value, list):
        return _names(value)
    if not isinstance(value, str):
        return None
    if not value.startswith("["):
        return _names([value]) if value else ()
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return _names(decoded) if isinstance(decoded, list) else None


def _groups_or_none(groups: tuple[str, ...] | None, mode: str, claim: str) -> tuple[str, ...]:
    if groups is None:
        logger.warning(
            "ambiguous groups claim; treating the caller as in no group",
            extra={"auth_mode": mode, "groups_claim": claim},
        )
        return ()
    return groups


def _from_jwt(authorizer: dict[str, Any], groups_claim: str) -> Identity:
    claims = _as_dict(_as_dict(authorizer.get("jwt")).get("claims"))
    sub = _principal(claims.get("sub"), "the JWT's sub claim")
    issuer = claims.get("iss")
    cognito = isinstance(issuer, str) and COGNITO_ISSUER.fullmatch(issuer) is not None
    parsed = jwt_groups(claims.get(groups_claim), cognito=cognito)
    groups = _groups_or_none(parsed, "jwt", groups_claim)
    return Identity(
        principal=sub, groups=groups, claims=_string_claims(claims), ambiguous_groups=parsed is None
    )


def _from_lambda(authorizer: dict[str, Any], groups_claim: str) -> Identity:
    context = _as_dict(authorizer.get("lambda"))
    if "sub" in context:
        principal = _principal(context["sub"], "the Lambda authorizer's sub")
    else:
        principal = _principal(context.get("principalId"), "the Lambda authorizer's sub or principalId")
    claim = groups_claim if groups_claim in context else "groups"
    parsed = lambda_groups(context.get(claim))
    groups = _groups_or_none(parsed, "lambda", claim)
    claims = _string_claims(context)
    claims["sub"] = principal
    return Identity(principal=principal, groups=groups, claims=claims, ambiguous_groups=parsed is None)


def _from_iam(authorizer: dict[str, Any], _groups_claim: str) -> Identity:
    iam = _as_dict(authorizer.get("iam"))
    arn = _principal(iam.get("userArn"), "the IAM caller (userArn)")
    claims = _string_claims({k: v for k, v in iam.items() if k not in {"accessKey", "userId", "callerId"}})
    cognito = _as_dict(iam.get("cognitoIdentity"))
    identity_id = cognito.get("identityId")
    if identity_id is not None:
        # Cognito identity pool users all share one role session ARN; their identity id is theirs.
        principal = _principal(identity_id, "the Cognito identity id")
        claims["sub"] = principal
        pool = cognito.get("identityPoolId")
        if _is_text(pool):
            claims["cognitoIdentityPoolId"] = pool
        return Identity(principal=principal, claims=claims)
    if _IAM_NAMED_PRINCIPAL.fullmatch(arn):
        user_id = iam.get("userId")
        claims["sub"] = user_id if _is_text(user_id) else arn
        return Identity(principal=arn, claims=claims)
    # An assumed role or federated user: the session name is the caller's choice.
    claims.pop("userArn", None)
    return Identity(principal=arn, claims=claims, names_resources=False)


def _from_source_ip(event: Mapping[str, Any]) -> Identity:
    http = _as_dict(_as_dict(event.get("requestContext")).get("http"))
    ip = _principal(http.get("sourceIp"), "the source IP")
    return Identity(principal=ip, claims={"sub": ip, "sourceIp": ip})


def identify(event: Mapping[str, Any], auth_mode: str, groups_claim: str) -> Identity:
    """The caller of an HTTP API v2 event under the configured auth mode; 401 when there is none."""
    if auth_mode == "none":
        return _from_source_ip(event)
    authorizer = _as_dict(_as_dict(event.get("requestContext")).get("authorizer"))
    readers = {"jwt": _from_jwt, "lambda": _from_lambda, "iam": _from_iam}
    return readers[auth_mode](authorizer, groups_claim)
