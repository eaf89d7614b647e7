"""Repeat requests answered from what the first one computed: per-request work proportional to what changed.

A cached vend used to redo everything per request: read the identity out of the authorizer's
claims, look the grant up, hash the cache key, build and encode the response, format the audit
line. For a caller whose token is still in memory none of that changes between two requests;
only the clock does (is the token still within its reuse share?). `MemoryHits` remembers, per
request *signature*, what the whole path concluded, and `find` answers a repeat with the token
cache's verdict on that conclusion.

The signature is every input the answer depends on, and nothing else:

* the method and the auth mode's part of the event: the JWT claims (`jwt`), the Lambda
  authorizer's context (`lambda`) or the source IP (`none`), exactly as `vendor.identity`
  reads them, each value compared as the JSON value it is (`_exact`: `1`, `1.0` and `true`
  differ), so an equal signature is an equal identity (IAM callers carry a nested
  `cognitoIdentity` object and always take the whole path);
* `?name=` (the label) and, for POST, the body and whether it is base64: the request;
* the policy object serving now (`Vendor.current_policy`): a policy change empties nothing but
  makes every remembered conclusion of the old one unused.

Anything that is not a hashable value of those shapes is not remembered, and takes the whole
path every time. A remembered answer is used only while the token cache still holds its token
in memory (`TokenCache.peek`); otherwise the whole path runs (mint, shared cache, budget,
errors) and remembers again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vendor.bounded_memo import BoundedMemo
from vendor.policy import Policy
from vendor.vending import Vended, Vendor, audit_of

#: Distinct signatures kept per container (a few hundred bytes each); the oldest goes first.
MAX_REMEMBERED = 10_000

Signature = tuple[Any, ...]


@dataclass(frozen=True)
class Hit:
    """What a repeat of a remembered request is answered with."""

    #: The response body, JSON-encoded once.
    body: str
    #: The audit object of its "vended token" line (source "memory").
    audit: dict[str, Any]


@dataclass(frozen=True)
class _Conclusion:
    policy: Policy
    vended: Vended
    hit: Hit


def _exact(item: tuple[str, Any]) -> tuple[Any, ...]:
    """A claim as a signature part that equals another only for the same JSON value.

    Python says `1 == 1.0 == True` and `0 == -0.0 == False` (with equal hashes), but the identity
    renders them as "1", "1.0", "true", "0", "-0.0", "false": two different callers, one signature
    (outside finding F1). A string stands for itself; anything else by its type and `repr`.
    """
    name, value = item
    if type(value) is str:
        return item
    return (name, type(value).__name__, repr(value))


def _conclusion(vended: Vended, body: str) -> _Conclusion:
    return _Conclusion(
        vended.policy, vended, Hit(body, audit_of(vended.identity, vended.grant, vended.token, "memory"))
    )


class MemoryHits:
    """Remembered conclusions of the whole vend path, by request signature."""

    def __init__(self, vendor: Vendor, auth_mode: str, *, limit: int = MAX_REMEMBERED) -> None:
        self._vendor = vendor
        self._mode = auth_mode
        self._known: BoundedMemo[_Conclusion] = BoundedMemo(limit)

    def __len__(self) -> int:
        return len(self._known)

    def signature(self, event: dict[str, Any], method: str) -> Signature | None:
        """Everything the answer to this valid token-route event depends on, or None (not remembered)."""
        context = event["requestContext"]
        if self._mode == "none":
            try:
                caller: Any = _exact(("sourceIp", context["http"].get("sourceIp")))
            except ValueError:
                return None
        else:
            authorizer = context.get("authorizer")
            if not isinstance(authorizer, dict):
                return None
            part = authorizer.get(self._mode)
            if self._mode == "jwt":
                part = part.get("claims") if isinstance(part, dict) else None
            if not isinstance(part, dict) or self._mode == "iam":
                return None
            try:
                caller = tuple(_exact(item) for item in part.items())
            except ValueError:  # an int too long for repr (only a hand-built event has one)
                return None
        query = event.get("queryStringParameters")
        label = query.get("name") if isinstance(query, dict) else None
        body = (event.get("body"), event.get("isBase64Encoded", False)) if method == "POST" else None
        signature = (method, label, body, caller)
        try:
            hash(signature)
        except TypeError:  # a list or object among the claims: not remembered
            return None
        return signature

    def remember(self, signature: Signature, vended: Vended, body: str) -> None:
        """Keep what the whole path concluded for `signature` (a 200 it just answered); not for a
        caller whose identification logs a warning each time (an ambiguous groups claim)."""
        if vended.identity.ambiguous_groups:
            return
        self._known.put(signature, _conclusion(vended, body))

    def knows(self, signature: Signature) -> bool:
        """Was a request with this signature answered before (its conclusion kept)?"""
        return signature in self._known

    def find(self, signature: Signature) -> Hit | None:
        """The answer to a repeat, if the whole path would give it from memory right now."""
        conclusion = self._known.get(signature)
        if conclusion is None or conclusion.policy is not self._vendor.current_policy():
            return None
        vended = conclusion.vended
        token = self._vendor.tokens.peek(vended.cache_key)
        if token is None:
            return None
        if token is not vended.token:  # re-minted since (another signature, same cache key)
            reminted = dataclasses.replace(vended, token=token, source="memory")
            conclusion = _conclusion(reminted, reminted.body_json())
            self._known.put(signature, conclusion)
        return conclusion.hit
