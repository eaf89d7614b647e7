"""Listing an account's v2 keys (`GET /api-keys`), for `status` to find orphaned successors.

Built on the product's own client (`shared.momento_api_keys.ApiKeysHttpApi`: base URL checks,
error mapping, key redaction); only the paging is added. The listing is read-only and, per
`local/momento/README.md`, not charged to the auth quota.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from shared.momento_api_keys import ApiKeysHttpApi
from shared.secret_format import MasterSecret

#: More pages than any account has keys for one secret; a loop guard, not a limit anyone meets.
_MAX_PAGES = 50


class KeyListing(ApiKeysHttpApi):
    def list_keys(self, secret: MasterSecret) -> Iterator[tuple[str, str]]:
        """(key_id, description) of every live v2 key the secret's key can see."""
        token: str | None = None
        for _ in range(_MAX_PAGES):
            query = {"limit": "100", **({"next_token": token} if token else {})}
            answer = self._call("GET", "/api-keys?" + urlencode(query), secret.api_key, "list API keys", None)
            if not isinstance(answer, dict):
                return
            for info in answer.get("api_keys") or []:
                if isinstance(info, dict) and isinstance(info.get("key_id"), str):
                    yield info["key_id"], str(info.get("description") or "")
            next_token = answer.get("next_token")
            if not isinstance(next_token, str) or not next_token:
                return
            token = next_token
