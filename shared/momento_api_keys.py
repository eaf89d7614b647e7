"""Client for Momento's v2 "API Keys HTTP API" (`POST /api-keys`, `DELETE /api-keys/{key_id}`).

Documented at docs.momentohq.com/platform/authentication/api-keys-http-api: one global
endpoint, the key itself in the `Authorization` header, JSON bodies, errors as JSON
`{"code", "message"}` with 400/401/403/404/429/500. Built on `urllib.request` so the layer
needs no HTTP dependency. Plain `http://` is accepted only for loopback and private
addresses (the local stack, or SAM containers reaching it over the Docker bridge), so a
typo cannot send a master key over the internet unencrypted.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from shared.errors import ConfigError, MomentoUnavailableError
from shared.momento_errors import momento_error, redact

_USER_AGENT = "momento-key-guard/0.1"
_MAX_RESPONSE = 1024 * 1024


@dataclass(frozen=True)
class GeneratedV2Key:
    api_key: str = field(repr=False)
    key_id: str
    role_id: str
    #: Epoch seconds; None when the key never expires.
    expires_at: int | None
    #: Only when the API says so (the documented response has no endpoint).
    endpoint: str | None


@dataclass(frozen=True)
class ListedV2Key:
    """One entry of `GET /api-keys` (`key_info`); no key material is ever listed."""

    key_id: str
    description: str
    role_id: str | None
    #: Epoch seconds; None when the key never expires.
    expires_at: int | None


#: Momento's page size limit for `GET /api-keys` is 1..100.
LIST_PAGE_SIZE = 100
#: Pages read at most (10,000 keys): a bound against a next_token that never ends.
MAX_LIST_PAGES = 100


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError([f"MOMENTO_API_KEYS_URL: expected an https:// URL, got {url!r}"])
    if parts.scheme == "http":
        host = parts.hostname
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_private
        except ValueError:
            local = False
        if not local:
            problem = f"plain http is only allowed to loopback or private addresses, got {url!r}"
            raise ConfigError([f"MOMENTO_API_KEYS_URL: {problem}"])
    return url.rstrip("/")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects and re-sends every header, `Authorization` (the master key)
    included, to the new origin. Returning None makes the 3xx an `HTTPError` instead."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class ApiKeysHttpApi:
    """One instance per base URL; stateless apart from it, so it is safe to share."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self._base = _check_base_url(base_url)
        self._timeout = timeout_seconds
        #: Built on the first call: its HTTPS handler loads the system's CA certificates (about
        #: 35 ms), and only the rotator calls this API; the vendor builds one at every cold start.
        self._opener: urllib.request.OpenerDirector | None = None
        self._opener_lock = threading.Lock()

    def _open(self, request: urllib.request.Request) -> Any:
        opener = self._opener
        if opener is None:
            with self._opener_lock:
                if self._opener is None:
                    self._opener = urllib.request.build_opener(_RefuseRedirects)
                opener = self._opener
        return opener.open(request, timeout=self._timeout)

    @property
    def base_url(self) -> str:
        return self._base

    def generate(
        self, api_key: str, role_id: str, description: str, expires_at: int | None
    ) -> GeneratedV2Key:
        body = {
            "role_id": role_id,
            "description": description,
            "expiry": "never" if expires_at is None else expires_at,
        }
        answer = self._call("POST", "/api-keys", api_key, "generate API key", body)
        return _generated(answer)

    def revoke(self, api_key: str, key_id: str) -> None:
        """Revoke `key_id`; a key that is already gone (404) counts as revoked."""
        path = "/api-keys/" + quote(key_id, safe="")
        self._call("DELETE", path, api_key, "revoke API key", None, missing_ok=True)

    def revoke_existing(self, api_key: str, key_id: str) -> None:
        """Revoke `key_id`; a 404 raises `MomentoNotFoundError` (the caller decides what it means)."""
        path = "/api-keys/" + quote(key_id, safe="")
        self._call("DELETE", path, api_key, "revoke API key", None)

    def list_api_keys(self, api_key: str) -> tuple[ListedV2Key, ...]:
        """Every v2 key of the account, following `next_token` (present only when there are more)."""
        found: list[ListedV2Key] = []
        token: str | None = None
        for _ in range(MAX_LIST_PAGES):
            query = f"?limit={LIST_PAGE_SIZE}"
            if token is not None:
                query += "&next_token=" + quote(token, safe="")
            answer = self._call("GET", "/api-keys" + query, api_key, "list API keys", None)
            if not isinstance(answer, dict) or not isinstance(answer.get("key_info"), list):
                raise MomentoUnavailableError("Momento list API keys failed: the answer lacks key_info")
            found.extend(_listed(item) for item in answer["key_info"] if isinstance(item, dict))
            next_token = answer.get("next_token")
            if not isinstance(next_token, str) or not next_token:
                return tuple(found)
            token = next_token
        raise MomentoUnavailableError(f"Momento list API keys failed: more than {MAX_LIST_PAGES} pages")

    def _call(
        self,
        method: str,
        path: str,
        api_key: str,
        operation: str,
        body: dict[str, Any] | None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        headers = {"Authorization": api_key, "Accept": "application/json", "User-Agent": _USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self._base + path, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked in __init__)
        try:
            with self._open(request) as response:
                raw = response.read(_MAX_RESPONSE)
        except urllib.error.HTTPError as exc:
            with exc:
                if 300 <= exc.code < 400:
                    raise MomentoUnavailableError(
                        f"Momento {operation} failed: the API answered a redirect ({exc.code}); "
                        "redirects are refused so the key is never sent to another origin"
                    ) from None
                if missing_ok and exc.code == 404:
                    return None
                detail = _error_detail(exc.read(_MAX_RESPONSE))
            raise momento_error(operation, exc.code, detail, (api_key,)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = redact(f"{type(reason).__name__}: {reason}", (api_key,))
            raise MomentoUnavailableError(
                f"Momento {operation} failed: cannot reach the API ({detail})"
            ) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise MomentoUnavailableError(f"Momento {operation} failed: the answer is not JSON") from None


def _error_detail(raw: bytes) -> str | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    parts = [str(payload[name]) for name in ("code", "message") if isinstance(payload.get(name), str)]
    return ": ".join(parts) or None


def _generated(answer: Any) -> GeneratedV2Key:
    problem = "Momento generate API key failed: the answer lacks {}"
    if not isinstance(answer, dict) or not isinstance(answer.get("api_key"), str) or not answer["api_key"]:
        raise MomentoUnavailableError(problem.format("api_key"))
    info = answer.get("key_info")
    if not isinstance(info, dict) or not isinstance(info.get("key_id"), str):
        raise MomentoUnavailableError(problem.format("key_info.key_id"))
    expires = info.get("expires_at_epoch_seconds")
    endpoint = answer.get("endpoint")
    return GeneratedV2Key(
        api_key=answer["api_key"],
        key_id=info["key_id"],
        role_id=str(info.get("role_id") or ""),
        expires_at=expires
        if isinstance(expires, int) and not isinstance(expires, bool) and expires > 0
        else None,
        endpoint=endpoint if isinstance(endpoint, str) and endpoint else None,
    )


def _listed(info: dict[str, Any]) -> ListedV2Key:
    expires = info.get("expires_at_epoch_seconds")
    description = info.get("description")
    role_id = info.get("role_id")
    return ListedV2Key(
        key_id=str(info.get("key_id") or ""),
        description=description if isinstance(description, str) else "",
        role_id=role_id if isinstance(role_id, str) and role_id else None,
        expires_at=expires
        if isinstance(expires, int) and not isinstance(expires, bool) and expires > 0
        else None,
    )
