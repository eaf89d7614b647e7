"""The token id Momento records for a vended token: within Momento's limit, traceable to the caller.

Momento's JS SDK refuses token ids longer than 64 characters, and an assumed-role ARN is often
longer (108 characters were seen), so the principal cannot always be used as it is. The rule:

* a principal of at most 64 characters made only of `SAFE_CHARS` is the token id unchanged;
* anything else keeps its last readable characters (for an ARN, the role and session name, the
  part that tells callers apart) and ends in `~` plus 16 hex digits of SHA-256 over the whole
  principal, so two principals that share a tail still get different ids. `~` is outside
  `SAFE_CHARS`, so a shortened id never equals a principal used unchanged.

The audit line (`vendor.vending`) records the full principal next to this id, so a token id
seen in Momento leads back to one caller. `label` (a caller-chosen name for the token) is
appended after `/` under the same rules.
"""

from __future__ import annotations

import hashlib
import re

#: Momento's JS SDK limit on `DisposableTokenProps.tokenId`.
MAX_TOKEN_ID_LENGTH = 64
_DIGEST_HEX = 16
SAFE_CHARS = re.compile(r"[A-Za-z0-9._:/@+=-]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@+=-]")


def token_id(principal: str, label: str | None = None) -> str:
    """The token id for `principal` (and an optional label); at most 64 safe characters."""
    readable = principal if label is None else f"{principal}/{label}"
    if len(readable) <= MAX_TOKEN_ID_LENGTH and SAFE_CHARS.fullmatch(readable):
        return readable
    # surrogatepass: a lone surrogate must not turn the digest into an exception.
    digest = hashlib.sha256(readable.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_HEX]
    tail = _UNSAFE.sub("_", readable)[-(MAX_TOKEN_ID_LENGTH - _DIGEST_HEX - 1) :]
    return f"{tail}~{digest}"
