"""The CORS headers of a token response, as Powertools' resolver adds them, without importing it.

The token routes are answered without Powertools' `APIGatewayHttpResolver` (`vendor.app`: the
resolver took about a fifth of a cached vend, and importing `aws_lambda_powertools.event_handler`
about 60 ms of a cold start); the resolver still answers everything else, the preflight
included. So the headers a browser needs on a token response must be the ones the resolver
would add. This is `CORSConfig.to_dict` after `ResponseBuilder._add_cors` (Powertools 3.x,
`event_handler/api_gateway.py`): the `Origin` header looked up case-insensitively (the last of
several spellings wins), a comma-separated value cut at its first comma, matched exactly against
the allowed origins (or `*`). `tests/vendor/test_token_route.py` checks it against Powertools'
`CORSConfig` for every allowed, disallowed and odd origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: `CORSConfig._REQUIRED_HEADERS`: always allowed.
REQUIRED_HEADERS = ("Authorization", "Content-Type", "X-Amz-Date", "X-Api-Key", "X-Amz-Security-Token")
_MAX_REMEMBERED = 64


class CorsHeaders:
    """Response headers per request `Origin`; the answer for each origin string is kept."""

    def __init__(self, origins: Sequence[str], allow_headers: Sequence[str], max_age: int | None) -> None:
        self._origins = tuple(origins)
        self._enabled = bool(self._origins)
        self._allow_headers = ",".join(sorted(set(REQUIRED_HEADERS) | set(allow_headers)))
        self._max_age = max_age
        self._known: dict[str | None, dict[str, str]] = {}

    @property
    def enabled(self) -> bool:
        return self._enabled

    def for_headers(self, headers: Mapping[str, Any] | None) -> dict[str, str]:
        """The CORS headers for a request with these headers ({} when CORS is off or no match)."""
        if not self._enabled:
            return {}
        return self.for_origin(request_origin(headers))

    def for_origin(self, origin: str | None) -> dict[str, str]:
        known = self._known.get(origin)
        if known is None:
            known = self._compute(origin)
            if len(self._known) >= _MAX_REMEMBERED:
                self._known.clear()
            self._known[origin] = known
        return known

    def _compute(self, extracted: str | None) -> dict[str, str]:
        # CORSConfig.allowed_origin, then CORSConfig.to_dict.
        if extracted in self._origins:
            origin: str | None = extracted
        elif extracted is not None and "*" in self._origins:
            origin = "*"
        else:
            return {}
        if not origin:
            return {}
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Headers": self._allow_headers}
        if self._max_age is not None:
            headers["Access-Control-Max-Age"] = str(self._max_age)
        return headers


def request_origin(headers: Mapping[str, Any] | None) -> str | None:
    """`extract_origin_header(event.resolved_headers_field)`: case-insensitive, last spelling wins,
    a value with a comma is split and its first part taken."""
    if not headers:
        return None
    value = headers.get("origin")
    for name in headers:
        if len(name) == 6 and name != "origin" and name.lower() == "origin":
            value = None  # another spelling: take the last one, in the event's order
            break
    else:
        return _first(value) if value is not None else None
    for name, candidate in headers.items():
        if name.lower() == "origin":
            value = candidate
    return _first(value) if value is not None else None


def _first(value: Any) -> Any:
    if isinstance(value, str) and "," in value:
        return value.split(",")[0]
    return value
