"""Group claims: each auth mode's accepted serialisations, and never a group the caller is not in.

The flattened form is API Gateway HTTP API's rendering of an array claim: `[a b c]`. Cognito
group names match `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+` (1 to 128 characters; CreateGroup API
reference), so they never contain the space that separates them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vendor.identity import identify, jwt_groups, lambda_groups

COGNITO_ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
OTHER_ISS = "https://login.example.com/"


def flattened(names: list[str]) -> str:
    """How an HTTP API JWT authorizer hands an array claim to the integration."""
    return "[" + " ".join(names) + "]"


def jwt_event(groups: Any, iss: str = COGNITO_ISS) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "user-1", "iss": iss}
    if groups is not None:
        claims["cognito:groups"] = groups
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}


def lambda_event(groups: Any) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"lambda": {"sub": "device-1", "groups": groups}}}}


@pytest.mark.parametrize(
    ("groups", "iss"),
    [
        ("members admins", COGNITO_ISS),  # one group whose name has a space (legal at many IdPs)
        ("members\tadmins", COGNITO_ISS),
        ("members\u2028admins", COGNITO_ISS),
        ("members admins", OTHER_ISS),
        ("[members admins]", OTHER_ISS),  # ["members admins"] or ["members","admins"]: unknowable
        ("[members\tadmins]", COGNITO_ISS),  # not a Cognito name, so not Cognito's flattened form
        ("[members\u2028admins]", COGNITO_ISS),
        ("[members  admins]", COGNITO_ISS),
        (["members admins"], COGNITO_ISS),
    ],
)
def test_jwt_never_splits_one_name_into_a_rule_group(groups: Any, iss: str) -> None:
    assert "admins" not in identify(jwt_event(groups, iss), "jwt", "cognito:groups").groups


@pytest.mark.parametrize(
    "groups",
    ["sales admins,members", "[members,admins]", "members admins", "members\nadmins", "admins\u2028"],
)
def test_lambda_never_splits_strings(groups: str) -> None:
    assert "admins" not in identify(lambda_event(groups), "lambda", "cognito:groups").groups


def test_cognito_flattened_form_is_split_on_single_spaces() -> None:
    identity = identify(jwt_event("[members admins]"), "jwt", "cognito:groups")
    assert identity.groups == ("admins", "members")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["b", "a"], ("a", "b")),
        ('["b","a"]', ("a", "b")),
        ("sales admins,members", ("sales admins,members",)),
        (None, ()),
        ("", ()),
    ],
)
def test_lambda_accepted_forms(value: Any, expected: tuple[str, ...]) -> None:
    assert lambda_groups(value) == expected


def test_ambiguous_groups_are_none_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vendor.identity"):
        identity = identify(lambda_event("[members,admins]"), "lambda", "cognito:groups")
    assert identity.groups == ()
    assert "ambiguous groups claim" in caplog.text


@pytest.mark.parametrize("value", [[1, "a"], ["a", ""], [["a"]], {"a": 1}, 7, True, "[1,2]", '["a"'])
def test_lambda_odd_values_are_ambiguous(value: Any) -> None:
    assert lambda_groups(value) is None


# --- properties: any names, each authorizer's serialisation, the same set or nothing ----------

#: The whole of Unicode, lone surrogates included (they arrive as JSON escapes such as "\\ud800").
any_name = st.text(alphabet=st.characters(exclude_categories=[]), min_size=1, max_size=12)
any_names = st.lists(any_name, max_size=5)
#: What Cognito allows in a group name: letters, marks, symbols, numbers, punctuation.
cognito_name = st.text(alphabet=st.characters(categories=["L", "M", "S", "N", "P"]), min_size=1, max_size=12)


def _same_or_nothing(parsed: tuple[str, ...] | None, names: list[str]) -> None:
    assert parsed is None or set(parsed) == set(names)


@given(any_names)
def test_property_jwt_flattened_from_other_issuers(names: list[str]) -> None:
    _same_or_nothing(jwt_groups(flattened(names), cognito=False), names)


@given(st.lists(cognito_name, max_size=5))
def test_property_jwt_flattened_cognito_names_round_trip(names: list[str]) -> None:
    assert jwt_groups(flattened(names), cognito=True) == tuple(sorted(set(names)))


@given(any_names)
def test_property_jwt_flattened_cognito_issuer_any_names(names: list[str]) -> None:
    """Names Cognito refuses cannot come from Cognito; only a space can merge or split them."""
    parsed = jwt_groups(flattened(names), cognito=True)
    if not any(" " in name for name in names):
        _same_or_nothing(parsed, names)


@given(any_names)
def test_property_jwt_as_a_list(names: list[str]) -> None:
    for cognito in (True, False):
        _same_or_nothing(jwt_groups(names, cognito=cognito), names)


@given(any_name)
def test_property_jwt_plain_string_claim_is_one_group(name: str) -> None:
    if name.startswith("[") and name.endswith("]"):
        return  # indistinguishable from a flattened array: covered above
    for cognito in (True, False):
        _same_or_nothing(jwt_groups(name, cognito=cognito), [name])


@given(any_names)
def test_property_lambda_list_and_json_text(names: list[str]) -> None:
    _same_or_nothing(lambda_groups(names), names)
    _same_or_nothing(lambda_groups(json.dumps(names)), names)
    _same_or_nothing(lambda_groups(json.dumps(names, ensure_ascii=False)), names)


@given(any_name)
def test_property_lambda_single_string(name: str) -> None:
    if name.startswith("["):
        return  # documented: a string beginning with `[` is JSON text
    _same_or_nothing(lambda_groups(name), [name])
