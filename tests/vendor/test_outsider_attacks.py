"""An outsider's attack pass: hundreds of generated hostile requests through the real handler.

Written from the issue's attack list, not from the other tests: each class below generates its
cases from a fixed seed, sends them to `vendor.app.handler` (moto Secrets Manager + the local
Momento server behind it) and checks the invariants every answer must keep:

* the handler returns (never raises) a dict with a JSON body and an integer status;
* no 5xx for input the caller controls (503/500 only where the class injects an outage);
* every error body is exactly `{"error", "message"}` with a known stable code;
* a 200 never grants more than policy gives the caller's *true* identity (the over-grant
  oracle: the identity the attacker really has, not the one the request claims), never the
  shared token cache, never `*`.

`python -m tests.vendor.test_outsider_attacks` prints the per-class table kept in
docs/security.md.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import vendor.app
from local.api_gateway import LocalLambdaContext
from shared.permissions import ALL, permission_from_json
from tests.vendor.conftest import POLICY, VendorStack, load_event
from vendor.identity import Identity
from vendor.policy import Policy, covers

pytestmark = pytest.mark.integration

SEED = 20261201
SUB = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
STABLE_CODES = {
    "bad_request",
    "bad_event",
    "unknown_scope",
    "forbidden",
    "unauthenticated",
    "payload_too_large",
    "method_not_allowed",
    "not_found",
    "invalid_name",
    "momento_invalid_request",
}
POLICY_OBJ = Policy.from_json(json.loads(POLICY), 3600, reserved_caches=frozenset({"keyguard-tokens"}))


@dataclass
class Case:
    name: str
    event: Any
    #: The identity the attacker really has; None means "must not get a 200 at all".
    truth: Identity | None
    allow_5xx: bool = False


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def jwt_event(body: Any = None, claims: dict[str, Any] | None = None, method: str = "POST") -> dict[str, Any]:
    event = load_event("post-token-jwt.json")
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = f"{method} /token"
    if claims is not None:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    if body is None:
        event.pop("body", None)
    else:
        event["body"] = body
    return event


def true_jwt_groups(value: Any, cognito: bool) -> tuple[str, ...]:
    """What the IdP really said, from the documented facts alone (not from vendor.identity).

    An HTTP API JWT authorizer renders an array claim as `[a b]`; Cognito group names are
    letters, marks, symbols, numbers and punctuation only, so for a Cognito issuer a bracketed
    string is always such a rendering. Elsewhere a bracketed string with a space is unknowable
    (the vendor must then grant no group, which the oracle models as the empty set).
    """
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v)
    if not isinstance(value, str) or not value:
        return ()
    if not (value.startswith("[") and value.endswith("]") and len(value) >= 2):
        return (value,)
    inner = value[1:-1]
    parts = inner.split(" ") if inner else []
    legal = all(p and all(unicodedata.category(c)[0] in "LMSNP" for c in p) for p in parts)
    if cognito:
        return tuple(parts) if legal else ()
    return (inner,) if inner and " " not in inner else ()


def member(groups: tuple[str, ...] = ("members",), tenant: str = "acme") -> Identity:
    return Identity(principal=SUB, groups=groups, claims={"sub": SUB, "tenant": tenant})


# --- generators, one per attack class ------------------------------------------------------------


def bodies(rng: random.Random) -> Iterator[Case]:
    """Hostile bodies for an honest member: parsing must answer 400, never 5xx, never more scope."""
    shapes: list[str] = [
        "[" * 3000 + "]" * 3000,
        "{" + '"a":{' * 1400 + "}" * 1401,
        '{"permissions":' + "[" * 2500 + "]" * 2500 + "}",
        '{"ttlSeconds":' + "7" * 4301 + "}",
        '{"ttlSeconds":-' + "1" * 6000 + "}",
        '{"ttlSeconds":1e999999}',
        '{"ttlSeconds":NaN}',
        '{"ttlSeconds":-Infinity}',
        '{"ttlSeconds":' + "9" * 20 + "}",
        '{"permissions":[{"cache":' + "8" * 5000 + ',"role":"read_only"}]}',
        "\ufeff{}",
        '{"permissions":[]}',
        '{"permissions":null}',
        '{"permissions":{}}',
        '{"permissions":"tenant-acme"}',
        '{"ttlSeconds":"60"}',
        '{"ttlSeconds":0}',
        '{"ttlSeconds":true}',
        '{"ttlSeconds":60.5}',
        '{"ttl":60}',
        '{"permissions":[{"cache":"tenant-acme","role":"read_only"}],"permissions":[{"cache":"*","role":"read_write"}]}',
        "null",
        "[]",
        '"string"',
        "12",
        "{",
        "}",
        "{}" * 100,
        "\x00",
        "\xff\xfe",
    ]
    for text in shapes:
        yield Case(f"body:{text[:24]!r}", jwt_event(text), member())
    names = ["cache", "keyPrefix", "key", "topic", "role"]
    weird = [
        "\ud800",
        "\udfff",
        "a\ud83dx",
        "\u0000",
        "\u2028",
        " tenant-acme",
        "tenant-acme ",
        "*",
        "",
        "x" * 300,
    ]
    for _ in range(120):
        perm: dict[str, Any] = {"cache": "tenant-acme", "keyPrefix": f"user-{SUB}-", "role": "read_write"}
        if rng.random() < 0.3:
            perm = {"cache": "tenant-acme", "topic": f"orders-{SUB}", "role": "publish_subscribe"}
        target = rng.choice([n for n in names if n in perm] + ["cache"])
        perm[target] = rng.choice([*weird, 7, None, [], {}, True, 1.5])
        body: dict[str, Any] = {"permissions": [perm]}
        if rng.random() < 0.3:
            body["ttlSeconds"] = rng.choice([1, 59, 60, 900, 3600, 3601, 10**12, -5])
        text = json.dumps(body)
        if rng.random() < 0.5:
            text = json.dumps(body, ensure_ascii=False)  # raw surrogates in the body string
        yield Case(f"body:perm.{target}", jwt_event(text), member())


def scope_attacks(_rng: random.Random) -> Iterator[Case]:
    """Asking for more than policy gives: other tenants, wildcards, prefix tricks, the token cache."""
    asks = [
        {"cache": "tenant-globex", "role": "read_only"},
        {"cache": "*", "role": "read_only"},
        {"cache": "tenant-acme", "role": "read_write"},
        {"cache": "tenant-acme", "keyPrefix": "user-", "role": "read_write"},
        {"cache": "tenant-acme", "keyPrefix": f"user-{SUB[:8]}", "role": "read_write"},
        {"cache": "tenant-acme", "keyPrefix": f"user-{SUB}", "role": "read_write"},
        {"cache": "tenant-acme", "keyPrefix": "", "role": "read_write"},
        {"cache": "tenant-acme", "key": "user-someone-else-1", "role": "read_write"},
        {"cache": "tenant-acme", "topic": "*", "role": "subscribe_only"},
        {"cache": "tenant-acme", "topic": "orders-", "role": "publish_subscribe"},
        {"cache": "keyguard-tokens", "role": "read_only"},
        {"cache": "keyguard-tokens", "keyPrefix": "vend-", "role": "read_only"},
        {"cache": "public", "topic": "announcements", "role": "publish_subscribe"},
        {"cache": "orders", "role": "read_write"},
        {"cache": "tenant-acme", "keyPrefix": f"user-{SUB}-", "topic": "x", "role": "read_write"},
    ]
    for ask in asks:
        for ttl in (None, 60, 3600, 90000):
            body: dict[str, Any] = {"permissions": [ask]}
            if ttl is not None:
                body["ttlSeconds"] = ttl
            yield Case(f"scope:{json.dumps(ask)[:40]}", jwt_event(json.dumps(body)), member())
    mixed = {
        "permissions": [asks[3], {"cache": "public", "topic": "announcements", "role": "subscribe_only"}]
    }
    yield Case("scope:mixed", jwt_event(json.dumps(mixed)), member())


def group_forgeries(rng: random.Random) -> Iterator[Case]:
    """JWT group claims built to be misread as `admins` (the over-grant of the issue)."""
    cognito = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
    other = "https://idp.example.com/"
    seps = [" ", "\t", "\n", "\u2028", "\u00a0", ",", ", ", ";", "|", "\u3000"]
    for _ in range(150):
        sep = rng.choice(seps)
        one = f"members{sep}admins"  # ONE group whose name contains the separator
        value: Any = rng.choice([one, f"[{one}]", [one], f'["{one}"]', f"[{one},x]"])
        iss = rng.choice([cognito, other])
        truth = member(true_jwt_groups(value, iss == cognito))
        claims = {"sub": SUB, "iss": iss, "tenant": "acme", "cognito:groups": value}
        yield Case(f"groups:jwt:{sep!r}", jwt_event(None, claims, "GET"), truth)
    for value in ([1, "admins"], {"admins": True}, 7, True, None, "", "[]", "[ ]", "[admins"):
        claims = {"sub": SUB, "iss": cognito, "tenant": "acme", "cognito:groups": value}
        truth = member(("admins",)) if value == [1, "admins"] else member(())
        if value == "[admins":
            truth = member(("[admins",))
        yield Case(f"groups:jwt:{value!r}"[:40], jwt_event(None, claims, "GET"), truth)


def lambda_forgeries(rng: random.Random) -> Iterator[Case]:
    """Lambda-authorizer contexts: comma/space/bracket strings, bad subs."""
    for _ in range(60):
        sep = rng.choice([",", " ", ", ", "\t", "\n", "\u2028"])
        value = rng.choice([f"sales admins{sep}members", f"[members{sep}admins]", f"members{sep}admins"])
        event = load_event("get-token-lambda.json")
        event["requestContext"]["authorizer"]["lambda"] = {
            "sub": "device17",
            "tenant": "acme",
            "groups": value,
        }
        truth = Identity("device17", (value,), {"sub": "device17", "tenant": "acme"})
        if value.startswith("["):
            truth = Identity("device17", (), {"sub": "device17", "tenant": "acme"})
        yield Case(f"groups:lambda:{sep!r}", event, truth)
    subs: list[Any] = [0, 1, -1, "", None, True, [], {}, ["device17"], "\ud800", 10**30]
    for sub in subs:
        event = load_event("get-token-lambda.json")
        event["requestContext"]["authorizer"]["lambda"] = {
            "sub": sub,
            "principalId": "device17",
            "groups": "admins",
        }
        yield Case(f"lambda:sub={sub!r}"[:40], event, None)


def iam_forgeries(rng: random.Random) -> Iterator[Case]:
    """IAM callers choosing their own session name (AssumeRole), Cognito identity pool users."""
    names = [
        SUB,
        "*",
        "admin",
        "user-" + SUB,
        "a" * 64,
        "x/y",
        "victim@example.com",
        "..",
        "CognitoIdentityCredentials",
    ]
    for _ in range(40):
        session = rng.choice(names) + str(rng.randrange(3) or "")
        arn = f"arn:aws:sts::123456789012:assumed-role/{rng.choice(['App', 'Cognito_Auth_Role'])}/{session}"
        event = load_event("get-token-iam.json")
        iam = event["requestContext"]["authorizer"]["iam"]
        iam.update(userArn=arn, userId=f"AROAEXAMPLE:{session}", cognitoIdentity=None)
        truth = Identity(arn, (), {"accountId": "123456789012"}, names_resources=False)
        if rng.random() < 0.4:
            identity_id = f"us-east-1:{rng.randrange(10**8):08d}"
            iam["cognitoIdentity"] = {
                "amr": ["authenticated"],
                "identityId": identity_id,
                "identityPoolId": "p",
            }
            truth = Identity(identity_id, (), {"accountId": "123456789012", "sub": identity_id})
        yield Case(f"iam:{session[:12]}", event, truth)


def event_shapes(rng: random.Random) -> Iterator[Case]:
    """Events the gateway cannot send: every field swapped for a value of another type, or removed."""
    base = jwt_event('{"ttlSeconds": 60}')
    odd: list[Any] = [None, 0, 1.5, True, "x", [], ["x"], {}, {"a": 1}, "\ud800"]
    paths = [
        ("version",),
        ("routeKey",),
        ("rawPath",),
        ("rawQueryString",),
        ("headers",),
        ("headers", "content-type"),
        ("headers", "origin"),
        ("isBase64Encoded",),
        ("body",),
        ("requestContext",),
        ("requestContext", "http"),
        ("requestContext", "http", "method"),
        ("requestContext", "http", "path"),
        ("requestContext", "http", "sourceIp"),
        ("requestContext", "authorizer"),
        ("requestContext", "authorizer", "jwt"),
        ("requestContext", "authorizer", "jwt", "claims"),
        ("requestContext", "authorizer", "jwt", "claims", "sub"),
        ("queryStringParameters",),
        ("cookies",),
        ("pathParameters",),
    ]
    for path in paths:
        for value in [*rng.sample(odd, 5), "<delete>"]:
            event = copy.deepcopy(base)
            node = event
            for part in path[:-1]:
                node = node.setdefault(part, {}) if isinstance(node, dict) else node
            if not isinstance(node, dict):
                continue
            if value == "<delete>":
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
            yield Case(f"event:{'.'.join(path)}", event, member())
    raws: list[Any] = [None, [], "GET /token", 0, {"version": "1.0", "httpMethod": "GET", "path": "/token"}]
    for raw in raws:
        yield Case(f"event:{type(raw).__name__}", raw, None)


def encodings(rng: random.Random) -> Iterator[Case]:
    """Base64 bodies: invalid, oversized, hostile payloads inside valid base64."""
    payloads = [
        b"[" * 3000 + b"]" * 3000,
        b'{"ttlSeconds":' + b"9" * 5000 + b"}",
        b'{"a":"\\ud800"}',
        b"\xff" * 10,
    ]
    for payload in payloads:
        event = jwt_event(base64.b64encode(payload).decode())
        event["isBase64Encoded"] = True
        yield Case("b64:hostile", event, member())
    for text in ("!!!", "YQ", "YQ==" * 3000, "=", " " * 50, rng.randbytes(30).hex()):
        event = jwt_event(text)
        event["isBase64Encoded"] = True
        yield Case("b64:invalid", event, member())


def query_and_paths(_rng: random.Random) -> Iterator[Case]:
    """Labels, methods and paths."""
    for name in ("", "a" * 200, "../x", "\ud800", "admin@x", "*", "a b", "ok-label"):
        event = jwt_event(None, None, "GET")
        event["queryStringParameters"] = {"name": name}
        event["rawQueryString"] = f"name={name}"
        yield Case(f"query:name={name[:10]!r}", event, member())
    for method in ("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "get"):
        yield Case(f"method:{method}", jwt_event(None, None, method), member())
    for path in ("/", "/token/", "/TOKEN", "/token/../token", "//token", "/token%00", "/\ud800"):
        event = jwt_event(None, None, "GET")
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
        yield Case(f"path:{path!r}", event, member())


#: Each class, the auth mode the vendor runs in for it, and its generator.
CLASSES: dict[str, tuple[str, Callable[[random.Random], Iterator[Case]]]] = {
    "hostile bodies": ("jwt", bodies),
    "scope escalation": ("jwt", scope_attacks),
    "JWT group forgeries": ("jwt", group_forgeries),
    "Lambda-authorizer forgeries": ("lambda", lambda_forgeries),
    "IAM identity forgeries": ("iam", iam_forgeries),
    "events the gateway cannot send": ("jwt", event_shapes),
    "base64 bodies": ("jwt", encodings),
    "labels, methods, paths": ("jwt", query_and_paths),
}


def check(case: Case, response: Any, tally: Tally) -> None:
    def fail(why: str) -> None:
        tally.failures.append(f"{case.name}: {why}")

    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        fail(f"not a response: {response!r}"[:200])
        return
    status = response["statusCode"]
    tally.counts[str(status)] += 1
    try:
        body = json.loads(response["body"]) if response.get("body") else {}
    except (TypeError, ValueError):
        fail("body is not JSON")
        return
    if status >= 500 and not case.allow_5xx:
        fail(f"{status} {body}")
    if status != 200:
        unstable = set(body) != {"error", "message"} or body["error"] not in STABLE_CODES
        if status < 500 and unstable:
            fail(f"unstable error body {body}")
        return
    if "authToken" not in body:
        return  # a CORS preflight or similar
    if case.truth is None:
        fail("200 for a caller that has no identity")
        return
    allowed = [a.permission for a in POLICY_OBJ.allowances(case.truth)]
    for raw in body["permissions"]:
        granted = permission_from_json(raw)
        if granted.cache in (ALL, "keyguard-tokens"):
            fail(f"granted {raw}")
        if not any(covers(a, granted) for a in allowed):
            fail(f"over-grant {raw} for true groups {case.truth.groups}")


def run_corpus(set_mode: Callable[[str], None]) -> dict[str, Tally]:
    rng = random.Random(SEED)
    results: dict[str, Tally] = {}
    for label, (mode, generate) in CLASSES.items():
        set_mode(mode)
        tally = results[label] = Tally()
        for case in generate(rng):
            try:
                response = vendor.app.handler(case.event, LocalLambdaContext())
            except BaseException as exc:  # the one thing the handler must never do
                tally.failures.append(f"{case.name}: raised {type(exc).__name__}")
                continue
            check(case, response, tally)
    return results


@pytest.fixture
def deployed(vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorStack]:
    for name, value in vendor_stack.env(SHARED_TOKEN_CACHE_NAME="keyguard-tokens").items():
        monkeypatch.setenv(name, value)
    vendor.app._application.cache_clear()
    yield vendor_stack
    vendor.app._application.cache_clear()


def test_outsider_corpus_keeps_every_invariant(
    deployed: VendorStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def set_mode(mode: str) -> None:
        monkeypatch.setenv("AUTH_MODE", mode)
        vendor.app._application.cache_clear()

    results = run_corpus(set_mode)
    with capsys.disabled():
        print()
        for label, tally in results.items():
            total = sum(tally.counts.values()) + len(
                [f for f in tally.failures if "raised" in f or "not a response" in f]
            )
            counts = dict(sorted(tally.counts.items()))
            print(f"{label:34} n={total:4}  {counts}  failures={len(tally.failures)}")
            for failure in tally.failures[:5]:
                print("    ", failure[:300])
    failures = [f"{label}: {f}" for label, t in results.items() for f in t.failures]
    assert failures == []
    assert sum(sum(t.counts.values()) for t in results.values()) >= 500


def test_a_caller_in_two_rules_for_one_cache_gets_one_statement_per_resource(deployed: VendorStack) -> None:
    """Found by the corpus: members (read_only) + admins (read_write) on tenant-acme was a 500,
    Momento refusing two statements for one resource."""
    claims = {"sub": SUB, "iss": "https://cognito-idp.us-east-1.amazonaws.com/p", "tenant": "acme"}
    claims["cognito:groups"] = "[members admins]"
    response = vendor.app.handler(jwt_event(None, claims, "GET"), LocalLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    caches = [
        p for p in json.loads(response["body"])["permissions"] if "keyPrefix" not in p and "topic" not in p
    ]
    assert caches == [{"cache": "tenant-acme", "role": "read_write"}]
    both = {"permissions": [{"cache": "tenant-acme", "role": r} for r in ("read_only", "write_only")]}
    response = vendor.app.handler(jwt_event(json.dumps(both), claims), LocalLambdaContext())
    # read_only + write_only is not widened to read_write (it may allow more than either)
    assert (response["statusCode"], json.loads(response["body"])["error"]) == (400, "unknown_scope")
