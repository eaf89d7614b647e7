"""An app-side client for the token vending machine: fetch, renew before expiry, hand to the SDK.

Standard library only for HTTP (urllib), so apps vendor this package without new dependencies;
the `momento` SDK is imported only when a credential provider is asked for. Tokens travel in
request and response bodies only, never in URLs, and never appear in reprs or exceptions.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from momento.auth import CredentialProvider


class VendingClientError(Exception):
    """The vendor refused or could not be reached; `status` 0 means no HTTP answer at all."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after
        super().__init__(f"{status} {code}: {message}")


@dataclass(frozen=True)
class VendedCredentials:
    """One vended token and what the vendor said about it."""

    auth_token: str = field(repr=False)
    #: Epoch seconds.
    expires_at: int
    endpoint: str | None
    token_id: str | None
    permissions: tuple[Mapping[str, str], ...]
    #: Epoch seconds at which this client fetched it.
    fetched_at: float

    @classmethod
    def from_response(cls, body: Mapping[str, Any], fetched_at: float) -> VendedCredentials:
        token = body.get("authToken", body.get("token"))
        expires_at = body.get("expiresAt", body.get("exp"))
        if not isinstance(token, str) or not token or not isinstance(expires_at, int):
            raise VendingClientError(200, "bad_response", "the vendor's answer has no authToken/expiresAt")
        permissions = body.get("permissions") or []
        return cls(
            auth_token=token,
            expires_at=expires_at,
            endpoint=body.get("endpoint") if isinstance(body.get("endpoint"), str) else None,
            token_id=body.get("tokenId") if isinstance(body.get("tokenId"), str) else None,
            permissions=tuple(p for p in permissions if isinstance(p, dict)),
            fetched_at=fetched_at,
        )


def _check_url(url: str) -> None:
    """https anywhere; plain http only to loopback, so a bearer token never crosses a network in clear."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("url must be an https:// URL")
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"plain http:// is only allowed to loopback addresses, not {host!r}; use https://")


class TokenVendingClient:
    """Keeps one fresh token from a vendor endpoint; thread-safe.

    `url` is the full token URL (for example `https://abc.execute-api.us-east-1.amazonaws.com/token`).
    `bearer_token` (a string or a callable returning a fresh one, e.g. a Cognito ID token) goes
    in `Authorization: Bearer ...`; `headers` adds anything else (an API key header, ...).
    With `permissions` or `ttl_seconds` the client POSTs a request for exactly that scope,
    otherwise it GETs the caller's default scope. A token is renewed `renew_margin_seconds`
    before it expires (at most half-way through its life for very short tokens). If a renewal
    fails while the current token is still valid, the current token is kept and the renewal is
    tried again after the vendor's `Retry-After` (else `renewal_retry_seconds`), never later than
    the token's expiry: an app calling `credentials()` per operation must not hammer a vendor
    that is throttled or down. Redirects are refused, so the bearer token only ever goes to `url`.
    """

    def __init__(
        self,
        url: str,
        *,
        bearer_token: str | Callable[[], str] | None = None,
        headers: Mapping[str, str] | None = None,
        permissions: Sequence[Mapping[str, str]] | None = None,
        ttl_seconds: int | None = None,
        renew_margin_seconds: float = 60.0,
        renewal_retry_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
        local_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_url(url)
        self._url = url
        self._bearer = bearer_token
        self._headers = dict(headers or {})
        self._permissions = [dict(p) for p in permissions] if permissions is not None else None
        self._ttl = ttl_seconds
        self._margin = renew_margin_seconds
        self._renewal_retry = renewal_retry_seconds
        self._timeout = timeout_seconds
        self._local = _parse_address(local_endpoint) if local_endpoint else None
        self._clock = clock
        self._lock = threading.Lock()
        self._current: VendedCredentials | None = None
        #: After a failed renewal, the held token is served without asking again until then.
        self._retry_at = float("-inf")
        #: How many times a token was fetched from the vendor (for apps' metrics and tests).
        self.fetches = 0

    def __repr__(self) -> str:
        return f"TokenVendingClient(url={self._url!r})"

    def credentials(self) -> VendedCredentials:
        """The current token, fetching a new one when none is held or renewal is due."""
        with self._lock:
            current = self._current
            now = self._clock()
            if current is not None and now < self._renew_at(current):
                return current
            if current is not None and now < min(self._retry_at, current.expires_at):
                return current
            try:
                self._current = self._fetch()
            except VendingClientError as exc:
                if current is not None and now < current.expires_at:
                    wait = exc.retry_after if exc.retry_after is not None else self._renewal_retry
                    self._retry_at = now + wait
                    return current
                raise
            self._retry_at = float("-inf")
            return self._current

    def invalidate(self) -> None:
        """Drop the held token (for example after Momento answered with an authentication error)."""
        with self._lock:
            self._current = None
            self._retry_at = float("-inf")

    def credential_provider(self) -> CredentialProvider:
        """A `momento` SDK credential provider for the current token.

        SDK clients keep the provider they were built with, so build a new client (or call this
        again) once `credentials().expires_at` is near. With `local_endpoint="host:port"`
        (development only) every endpoint points at that plaintext server.
        """
        from momento.auth import CredentialProvider

        provider = CredentialProvider.from_disposable_token(self.credentials().auth_token)
        if self._local is None:
            return provider
        host, port = self._local
        return dataclasses.replace(
            provider, control_endpoint=host, cache_endpoint=host, token_endpoint=host, port=port
        )

    def _renew_at(self, creds: VendedCredentials) -> float:
        lifetime = max(0.0, creds.expires_at - creds.fetched_at)
        return creds.expires_at - min(self._margin, lifetime / 2)

    def _fetch(self) -> VendedCredentials:
        headers = {"Accept": "application/json", **self._headers}
        if self._bearer is not None:
            token = self._bearer() if callable(self._bearer) else self._bearer
            headers["Authorization"] = f"Bearer {token}"
        data: bytes | None = None
        method = "GET"
        if self._permissions is not None or self._ttl is not None:
            method = "POST"
            body: dict[str, Any] = {}
            if self._permissions is not None:
                body["permissions"] = self._permissions
            if self._ttl is not None:
                body["ttlSeconds"] = self._ttl
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self._url, data=data, headers=headers, method=method)  # noqa: S310
        fetched_at = self._clock()
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise VendingClientError(0, "unreachable", f"the vendor could not be reached: {exc}") from None
        try:
            parsed = json.loads(payload)
        except json.JSONDecodeError:
            raise VendingClientError(200, "bad_response", "the vendor's answer is not JSON") from None
        if not isinstance(parsed, dict):
            raise VendingClientError(200, "bad_response", "the vendor's answer is not a JSON object")
        self.fetches += 1
        return VendedCredentials.from_response(parsed, fetched_at)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """The vendor never redirects; following one would send the bearer token to another URL."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def _http_error(exc: urllib.error.HTTPError) -> VendingClientError:
    if 300 <= exc.code < 400:
        return VendingClientError(exc.code, "redirect_refused", "the vendor answered with a redirect")
    code, message = "http_error", exc.reason if isinstance(exc.reason, str) else "error"
    try:
        body = json.loads(exc.read())
        if isinstance(body, dict):
            code = str(body.get("error", code))
            message = str(body.get("message", message))
    except (json.JSONDecodeError, OSError, ValueError):
        pass
    retry_after: float | None = None
    raw_retry = exc.headers.get("Retry-After") if exc.headers else None
    if raw_retry is not None:
        try:
            retry_after = float(raw_retry)
        except ValueError:
            retry_after = None
    return VendingClientError(exc.code, code, message, retry_after)


def _parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("local_endpoint must be host:port")
    return host.strip("[]"), int(port)
