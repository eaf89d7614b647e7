"""The per-request text checks answer as the UTF-8 rule does, with their ASCII fast paths (issue 15).

`vendor.request_json.is_text` (every header), `vendor.identity`'s claim and principal checks and
its Cognito group-name rule skip the UTF-8 encode, and `unicodedata`, for ASCII strings; a lone
surrogate (never ASCII) must still be refused everywhere.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from vendor.identity import identify, jwt_groups
from vendor.request_json import event_problem, is_text

EVENT = json.loads((Path(__file__).parents[2] / "events" / "vendor" / "get-token-jwt.json").read_text())
#: All of Unicode, lone surrogates included (they arrive as JSON escapes such as "\\ud800").
any_text = st.text(alphabet=st.characters(exclude_categories=[]), max_size=12)


def encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def jwt_event(**claims: Any) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(EVENT)
    event["requestContext"]["authorizer"]["jwt"]["claims"].update(claims)
    return event


@given(any_text)
def test_is_text_is_the_utf8_rule(value: str) -> None:
    assert is_text(value) is encodes(value)


@pytest.mark.parametrize("header", [{"x-odd": "a\ud800"}, {"x-\udfff": "a"}, {"x-odd": "\ud800"}])
def test_a_lone_surrogate_in_a_header_is_still_a_bad_event(header: dict[str, str]) -> None:
    event = copy.deepcopy(EVENT)
    event["headers"].update(header)
    assert event_problem(event) == "the event's headers is not a map of strings"


def test_non_ascii_headers_are_fine() -> None:
    event = copy.deepcopy(EVENT)
    event["headers"]["x-name"] = "Zoë 日本"
    assert event_problem(event) is None


@given(any_text, any_text)
def test_claims_are_kept_exactly_when_utf8_can_carry_them(name: str, value: str) -> None:
    claims = identify(jwt_event(**{name: value}), "jwt", "cognito:groups").claims
    kept = name != "" and value != "" and encodes(name) and encodes(value)
    assert (claims.get(name) == value) is kept


def test_a_lone_surrogate_claim_is_dropped_and_a_non_ascii_one_kept() -> None:
    claims = identify(
        jwt_event(tenant="a\ud800", team="Zoë", **{"x\udc00": "v"}), "jwt", "cognito:groups"
    ).claims
    assert "tenant" not in claims
    assert "x\udc00" not in claims
    assert claims["team"] == "Zoë"


def test_a_lone_surrogate_sub_is_still_400() -> None:
    with pytest.raises(BadRequestError):
        identify(jwt_event(sub="\ud800"), "jwt", "cognito:groups")


def cognito_rule(name: str) -> bool:
    """CreateGroup's rule, `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+`, up to 128 characters."""
    return 0 < len(name) <= 128 and all(unicodedata.category(ch)[0] in "LMSNP" for ch in name)


def cognito_groups(name: str) -> tuple[str, ...] | None:
    return jwt_groups(f"[{name}]", cognito=True)


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_is_a_cognito_group_name_exactly_by_its_category(code: int) -> None:
    name = chr(code)
    expected = (name,) if cognito_rule(name) else None
    assert cognito_groups(name) == expected


@given(any_text)
def test_cognito_group_names_follow_the_unicode_categories(name: str) -> None:
    if " " in name or name == "":
        return  # the space separates flattened names; nothing to compare
    assert (cognito_groups(name) is not None) is cognito_rule(name)


@pytest.mark.parametrize("length", [128, 129])
def test_cognito_group_name_length_limit_holds_for_ascii(length: int) -> None:
    assert (cognito_groups("g" * length) is not None) is (length <= 128)
