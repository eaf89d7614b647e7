"""Who is calling, read only from what API Gateway verified (never from headers the client sets).

HTTP API payload v2 puts the authorizer's result under `requestContext.authorizer`:
`jwt.claims` for JWT authorizers (Cognito or any OIDC issuer), `lambda` for a Lambda
authorizer's context, `iam` for IAM-signed calls. `none` uses the source IP, as seed 000's
open TVM does: development only, since anyone can be anyone behind a NAT.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import UnauthenticatedError


@dataclass(frozen=True)
class Identity:
    """A verified caller: a stable principal, its groups and its string-valued claims."""

    #: jwt/lambda: `sub` (or a Lambda authorizer's `principalId`); iam: the user ARN; none: the source IP.
    principal: str
    groups: tuple[str, ...] = ()
    claims: Mapping[str, str] = field(default_factory=dict)

    @property
    def token_id(self) -> str:
        """The token id recorded by Momento: the caller's identity, so audits can trace a token to them."""
        return self.principal


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string_claims(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only scalar claims become placeholder values; nested objects and lists never do."""
    out: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = str(value)
    return out


def parse_groups(value: Any) -> tuple[str, ...]:
    """Groups as API Gateway hands them over.

    A JWT authorizer flattens array claims into a string such as `[admins users]`; a Lambda
    authorizer may pass a list, a JSON array string or a comma-separated string.
    """
    if value is None:
        return ()
    if isinstance(value, list):
        items = [str(v) for v in value if isinstance(v, str | int)]
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError:
                decoded = None
            if isinstance(decoded, list):
                items = [str(v) for v in decoded if isinstance(v, str | int)]
            else:
                items = text[1:-1].replace(",", " ").split()
        else:
            items = text.replace(",", " ").split()
    else:
        return ()
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def _from_jwt(authorizer: dict[str, Any], groups_claim: str) -> Identity:
    claims = _as_dict(_as_dict(authorizer.get("jwt")).get("claims"))
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise UnauthenticatedError("no verified JWT identity (sub claim) on the request")
    groups = parse_groups(claims.get(groups_claim))
    return Identity(principal=sub, groups=groups, claims=_string_claims(claims))


def _from_lambda(authorizer: dict[str, Any], groups_claim: str) -> Identity:
    context = _as_dict(authorizer.get("lambda"))
    principal = context.get("sub") or context.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise UnauthenticatedError("the Lambda authorizer returned no sub or principalId")
    groups = context.get(groups_claim, context.get("groups"))
    claims = _string_claims(context)
    claims.setdefault("sub", principal)
    return Identity(principal=principal, groups=parse_groups(groups), claims=claims)


def _from_iam(authorizer: dict[str, Any], _groups_claim: str) -> Identity:
    iam = _as_dict(authorizer.get("iam"))
    arn = iam.get("userArn")
    if not isinstance(arn, str) or not arn:
        raise UnauthenticatedError("no IAM caller (userArn) on the request")
    claims = _string_claims({k: v for k, v in iam.items() if k != "accessKey"})
    claims.setdefault("sub", str(iam.get("userId") or arn))
    return Identity(principal=arn, claims=claims)


def _from_source_ip(event: Mapping[str, Any]) -> Identity:
    http = _as_dict(_as_dict(event.get("requestContext")).get("http"))
    ip = http.get("sourceIp")
    if not isinstance(ip, str) or not ip:
        raise UnauthenticatedError("no source IP on the request")
    return Identity(principal=ip, claims={"sub": ip, "sourceIp": ip})


def identify(event: Mapping[str, Any], auth_mode: str, groups_claim: str) -> Identity:
    """The caller of an HTTP API v2 event under the configured auth mode; 401 when there is none."""
    if auth_mode == "none":
        return _from_source_ip(event)
    authorizer = _as_dict(_as_dict(event.get("requestContext")).get("authorizer"))
    readers = {"jwt": _from_jwt, "lambda": _from_lambda, "iam": _from_iam}
    return readers[auth_mode](authorizer, groups_claim)
