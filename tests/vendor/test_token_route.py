"""The token routes answered without Powertools' resolver, and repeats answered from memory, say
exactly what the resolver says: same status, headers and body, for good and bad requests alike."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import CORSConfig

from tests.vendor.conftest import Built, VendorStack, load_event
from vendor.cors import CorsHeaders, request_origin
from vendor.request_json import event_problem

ORIGINS = ("https://app.example.com", "https://admin.example.com")
Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[str, ...], value: Any) -> Mutation:
    def apply(event: dict[str, Any]) -> None:
        target = event
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if value is _DELETE:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value

    return apply


_DELETE = object()


def _claims(**changes: Any) -> Mutation:
    def apply(event: dict[str, Any]) -> None:
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        for name, value in changes.items():
            if value is _DELETE:
                claims.pop(name, None)
            else:
                claims[name] = value

    return apply


def _body(text: str | None, *, b64: bool = False) -> Mutation:
    def apply(event: dict[str, Any]) -> None:
        event["body"] = base64.b64encode(text.encode()).decode() if (b64 and text is not None) else text
        event["isBase64Encoded"] = b64

    return apply


GET_VARIANTS: dict[str, list[Mutation]] = {
    "plain": [],
    "root path": [_set(("rawPath",), "/")],
    "allowed origin": [_set(("headers", "origin"), ORIGINS[1])],
    "other origin": [_set(("headers", "origin"), "https://evil.example")],
    "origin with comma": [_set(("headers", "origin"), f"{ORIGINS[0]},https://evil.example")],
    "capitalised Origin": [_set(("headers", "Origin"), ORIGINS[0])],
    "two spellings": [
        _set(("headers", "Origin"), "https://evil.example"),
        _set(("headers", "origin"), ORIGINS[0]),
    ],
    "label": [_set(("queryStringParameters",), {"name": "tab-1"}), _set(("rawQueryString",), "name=tab-1")],
    "bad label": [_set(("queryStringParameters",), {"name": "../x"})],
    "empty label": [_set(("queryStringParameters",), {"name": ""})],
    "no sub": [_claims(sub=_DELETE)],
    "empty sub": [_claims(sub="")],
    "list groups": [_claims(**{"cognito:groups": ["acme-members"]})],
    "ambiguous groups": [
        _claims(**{"cognito:groups": "[acme-members other]", "iss": "https://issuer.example"})
    ],
    "no groups": [_claims(**{"cognito:groups": _DELETE})],
    "other caller": [_claims(sub=str(uuid.UUID(int=7)))],
    "named stage": [_set(("requestContext", "stage"), "prod"), _set(("rawPath",), "/prod/token")],
    "named stage wrong path": [_set(("requestContext", "stage"), "prod")],
    "no stage": [_set(("requestContext", "stage"), _DELETE)],
    "lower-case method": [_set(("requestContext", "http", "method"), "get")],
    "wrong path": [_set(("rawPath",), "/tokens")],
    "trailing slash": [_set(("rawPath",), "/token/")],
    "PUT": [_set(("requestContext", "http", "method"), "PUT")],
    "OPTIONS": [
        _set(("requestContext", "http", "method"), "OPTIONS"),
        _set(("headers", "origin"), ORIGINS[0]),
    ],
    "body on a GET": [_body('{"ttlSeconds": 60}')],
    "no authorizer": [_set(("requestContext", "authorizer"), _DELETE)],
    "authorizer not an object": [_set(("requestContext", "authorizer"), "jwt")],
}

POST_VARIANTS: dict[str, list[Mutation]] = {
    "plain": [],
    "empty body": [_body(None)],
    "blank body": [_body("  ")],
    "ttl": [_body('{"ttlSeconds": 60}')],
    "base64": [_body('{"ttlSeconds": 60}', b64=True)],
    "bad base64": [_set(("body",), "%%%"), _set(("isBase64Encoded",), True)],
    "not JSON": [_body("{")],
    "unknown field": [_body('{"ttl": 60}')],
    "forbidden": [_body('{"permissions": [{"cache": "tenant-globex", "role": "read_write"}]}')],
    "unknown scope": [_body('{"permissions": [{"cache": "tenant-acme", "role": "superuser"}]}')],
    "too large": [_body('{"ttlSeconds": 60, "pad": "' + "x" * 20_000 + '"}')],
    "origin": [_set(("headers", "origin"), ORIGINS[0])],
}


def _event(base: str, mutations: list[Mutation]) -> dict[str, Any]:
    event = copy.deepcopy(load_event(base))
    for mutate in mutations:
        mutate(event)
    return event


def _comparable(response: dict[str, Any]) -> dict[str, Any]:
    out = dict(response)
    out["headers"] = dict(sorted(response.get("headers", {}).items()))
    return out


def _check_same(built: Built, event: dict[str, Any], name: str) -> dict[str, Any]:
    """Resolver first (the reference), then the product twice: the first time the whole way,
    the second from memory where it can. All three answers are the same."""
    if event_problem(event) is not None:  # the resolver is never asked (it may crash on these)
        reference = {"statusCode": 400}
        assert built.invoke(copy.deepcopy(event))["statusCode"] == 400, name
        return reference
    reference = built.resolve(copy.deepcopy(event))
    direct = built.invoke(copy.deepcopy(event))
    repeat = built.invoke(copy.deepcopy(event))
    assert _comparable(direct) == _comparable(reference), name
    assert _comparable(repeat) == _comparable(reference), name
    return reference


@pytest.mark.integration
def test_get_answers_are_the_resolvers(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(CORS_ALLOW_ORIGINS=",".join(ORIGINS))
    statuses = {}
    for name, mutations in GET_VARIANTS.items():
        statuses[name] = _check_same(built, _event("get-token-jwt.json", mutations), name)["statusCode"]
    # The corpus reaches every kind of answer, so the comparison covers them all.
    assert {200, 204, 400, 401, 404, 405} <= set(statuses.values()), statuses
    assert len(built.service.hits) > 0


@pytest.mark.integration
def test_post_answers_are_the_resolvers(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(CORS_ALLOW_ORIGINS=ORIGINS[0], MAX_BODY_BYTES="4096")
    statuses = {}
    for name, mutations in POST_VARIANTS.items():
        statuses[name] = _check_same(built, _event("post-token-jwt.json", mutations), name)["statusCode"]
    assert {200, 400, 403, 413} <= set(statuses.values()), statuses


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["lambda", "iam", "none"])
def test_other_auth_modes_answer_as_the_resolver(vendor_stack: VendorStack, mode: str) -> None:
    built = vendor_stack.build(AUTH_MODE=mode)
    for name in (f"get-token-{mode}.json", f"post-token-{mode}.json"):
        assert _check_same(built, load_event(name), name)["statusCode"] == 200
    remembered = len(built.service.hits)
    assert remembered == (0 if mode == "iam" else 2)  # IAM identities are nested: never remembered


@pytest.mark.integration
def test_a_repeat_is_served_from_memory_only_while_the_token_is(vendor_stack: VendorStack) -> None:
    event = load_event("get-token-jwt.json")
    kept = vendor_stack.build()
    first = kept.invoke(event)
    hit = kept.service.hits.find(kept.service.hits.signature(event, "GET") or ())
    assert hit is not None
    assert hit.body == first["body"]
    assert kept.invoke(event)["body"] == first["body"]
    # With no reuse share a token is never served from memory: every repeat goes the whole way.
    fresh = vendor_stack.build(TOKEN_REUSE_FRACTION="0")
    one, two = fresh.invoke(event), fresh.invoke(event)
    assert fresh.service.hits.find(fresh.service.hits.signature(event, "GET") or ()) is None
    assert json.loads(one["body"])["authToken"] != json.loads(two["body"])["authToken"]


@pytest.mark.integration
def test_a_different_claim_is_a_different_caller(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build()
    event = load_event("get-token-jwt.json")
    built.invoke(event)
    changed = _event("get-token-jwt.json", [_claims(**{"cognito:groups": "admins"})])
    assert built.service.hits.find(built.service.hits.signature(changed, "GET") or ()) is None
    assert _comparable(built.invoke(changed)) == _comparable(built.resolve(changed))


def test_cors_headers_are_powertools_own() -> None:
    allow = ["X-Custom", "username"]
    for origins in (ORIGINS, ("*",), (ORIGINS[0], "*")):
        ours = CorsHeaders(origins, allow, 600)
        theirs = CORSConfig(
            allow_origin=origins[0], extra_origins=list(origins[1:]), allow_headers=allow, max_age=600
        )
        for origin in [*ORIGINS, "https://evil.example", "", "null", f"{ORIGINS[0]},x", "*", None]:
            headers = {} if origin is None else {"origin": origin}
            extracted = request_origin(headers)
            assert extracted == (origin.split(",")[0] if origin and "," in origin else origin)
            allowed = theirs.allowed_origin(extracted)  # type: ignore[arg-type]
            expected = theirs.to_dict(allowed) if allowed is not None else {}
            assert ours.for_headers(headers) == expected, (origins, origin)


def test_the_origin_header_is_found_case_insensitively_last_spelling_wins() -> None:
    assert request_origin({"Origin": "a"}) == "a"
    assert request_origin({"origin": "a", "ORIGIN": "b"}) == "b"
    assert request_origin({"ORIGIN": "b", "origin": "a"}) == "a"
    assert request_origin({"x-origin": "a"}) is None


def _lambda_event(context: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("get-token-lambda.json"))
    event["requestContext"]["authorizer"] = {"lambda": context}
    return event


@pytest.mark.integration
def test_claim_values_equal_in_python_but_not_in_json_are_different_callers(
    vendor_stack: VendorStack,
) -> None:
    """Outside finding F1: `1 == 1.0 == True` and `0 == -0.0 == False` in Python (equal hashes),
    but the identity renders "1", "1.0", "true": a memo keyed on the raw values served one
    caller's scope to the other."""
    built = vendor_stack.build(AUTH_MODE="lambda")
    variants: list[list[dict[str, Any]]] = [
        [{"sub": "svc1", "accountId": 123456789012}, {"sub": "svc1", "accountId": 123456789012.0}],
        [{"sub": "u1", "groups": "members", "tenant": value} for value in (1, True, 1.0)],
        [{"sub": "u2", "groups": "members", "tenant": value} for value in (0, False, -0.0, 0.0)],
    ]
    for group in variants:
        for context in group + group:  # each one twice: the second from memory where allowed
            event = _lambda_event(context)
            assert _comparable(built.invoke(copy.deepcopy(event))) == _comparable(
                built.resolve(copy.deepcopy(event))
            ), context


@pytest.mark.integration
def test_an_ambiguous_groups_claim_is_warned_about_on_every_request(
    vendor_stack: VendorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside finding F6: the full path logs the warning per request; a memory hit must too, so
    such a caller is never answered from memory."""
    built = vendor_stack.build()
    event = _event(
        "get-token-jwt.json", [_claims(**{"iss": "https://issuer.example.com", "cognito:groups": "[a b]"})]
    )
    with caplog.at_level("WARNING", logger="vendor.identity"):
        statuses = [built.invoke(copy.deepcopy(event))["statusCode"] for _ in range(3)]
    warned = [r for r in caplog.records if r.getMessage().startswith("ambiguous groups claim")]
    assert len(warned) == 3, statuses
    assert len(built.service.hits) == 0


@pytest.mark.integration
def test_a_claim_too_long_to_print_is_not_remembered_and_not_a_500(vendor_stack: VendorStack) -> None:
    """Re-check: an int of more than 4,300 digits cannot be `repr`'d (only a hand-built event dict
    carries one: JSON parsing refuses it); the signature is then None, not an exception."""
    built = vendor_stack.build(AUTH_MODE="lambda")
    event = _lambda_event({"sub": "svc1", "accountId": 10**5000})
    assert built.service.hits.signature(event, "GET") is None
    assert _comparable(built.invoke(copy.deepcopy(event))) == _comparable(built.resolve(copy.deepcopy(event)))
