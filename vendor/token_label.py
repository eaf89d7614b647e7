"""`?name=`: a caller-chosen label that becomes part of the token id, never part of the scope.

Momento's TVM example (client-sdk-javascript `examples/nodejs/token-vending-machine`) passes
`?name=Taylor` as the token id, so subscribers can tell publishers apart (`TopicItem.tokenId()`).
Here the label is only decoration next to the verified identity: the token id is
`<principal>/<label>` (`vendor.token_id.token_id`, within Momento's 64-character limit, the label
kept at the end), so the audit trail still names the caller and a label can never impersonate
another caller. Scope (permissions, lifetime) still comes only from the identity.
"""

from __future__ import annotations

import re

from shared.errors import InvalidNameError

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
