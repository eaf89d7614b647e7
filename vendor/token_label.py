"""`?name=`: a caller-chosen label that becomes part of the token id, never part of the scope.

Momento's TVM example (client-sdk-javascript `examples/nodejs/token-vending-machine`) passes
`?name=Taylor` as the token id, so subscribers can tell publishers apart (`TopicItem.tokenId()`).
Here the label is only decoration next to the verified identity: the token id is
`<label>@<identity's token id>`, so the audit trail still names the caller and a label can never
impersonate another caller. Scope (permissions, lifetime) still comes only from the identity.

Momento's JS SDK refuses token ids over 64 characters; when the composed id would be longer, the
identity part is replaced by a digest of it (still the same for the same caller).
"""

from __future__ import annotations

import hashlib
import re

from shared.errors import InvalidNameError

#: Momento's limit on a token id's length (the JS SDK refuses longer ones).
MAX_TOKEN_ID_CHARS = 64
MAX_LABEL_CHARS = 32
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def parse_label(query: dict[str, str] | None) -> str | None:
    """The validated `name` query parameter; None when absent or empty; 400 when malformed."""
    if not query or "name" not in query:
        return None
    value = query["name"]
    if value == "":
        return None
    if not isinstance(value, str) or LABEL.fullmatch(value) is None:
        raise InvalidNameError(
            f"name must be 1-{MAX_LABEL_CHARS} letters, digits, '.', '_' or '-', starting with a letter"
            " or digit"
        )
    return value


def labelled_token_id(base: str, label: str | None) -> str:
    """`label@base`, within Momento's 64-character limit; `base` alone without a label."""
    if label is None:
        return base
    composed = f"{label}@{base}"
    if len(composed) <= MAX_TOKEN_ID_CHARS:
        return composed
    room = MAX_TOKEN_ID_CHARS - len(label) - 1
    return f"{label}@{hashlib.sha256(base.encode()).hexdigest()[:room]}"
