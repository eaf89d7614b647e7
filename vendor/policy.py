"""The vending policy: which permissions a verified caller may hold, and for how long.

Default deny: a caller no rule matches gets nothing. Rules hold permission *templates* whose
placeholders (`{sub}`, `{principal}`, `{claims.NAME}`) are filled from the verified identity.
Because identities come from outside (a user may pick their own `tenant` attribute, an IdP may
allow odd usernames), every filled-in value is checked before it can name a resource:

* it must match `SAFE_VALUE` (letters, digits and `. _ @ : / + = -`, starting with a letter or
  digit, at most 128 characters): no `*` (all caches / all topics), no empty value, no spaces;
* in a `keyPrefix`, every placeholder must be followed by a literal delimiter (checked when the
  policy loads) and the value must not contain that delimiter. Otherwise caller `4` holding
  prefix `user-4-` would also read the keys of caller `4-2` (`user-4-2-...`): the "prefix
  trick". One exception keeps Cognito's `sub` usable: a canonical UUID may contain `-` when `-`
  is the delimiter. All UUIDs have one length and shape, so no UUID followed by `-` starts
  another UUID; and because a non-UUID value followed by `-` could still start a UUID (caller
  `3f1c2a4e` holding `user-3f1c2a4e-` would reach `user-3f1c2a4e-8b7d-...`), a value that is
  exactly a UUID's first group (eight hex digits) gets nothing there. With any other delimiter
  there is no exception (a hex-digit delimiter occurs inside UUIDs too).

A value that fails these checks removes that one permission from the caller's allowance; it
never fails open. Requests are then checked with `covers`: a requested permission is granted only
when one allowed permission is the same or wider in every dimension (cache, topic, key / prefix,
role).

Minting is the scarce resource (Momento allows about 5 auth operations per second per account),
so grants are chosen to be reused: a requested lifetime is rounded down to a bucket
(`TTL_BUCKETS`), a request for some of the statements of a whole grant the caller could have
asked for is widened to it, and a rule marked `"shared": true` (no placeholders) gives all its
callers one grant, hence one token whose id names the rule (`rule:<name>`), not the caller.

Compiled once per container: what a caller gets depends only on its principal, its groups and
the few claims the rules read (`Policy.claims_read`), so allowances and the default (GET) grant
are computed once per such identity and then looked up (`_IdentityMemo`, bounded, O(1)). A
cached vend does one tuple build and one dict lookup here instead of rendering every template.
A caller seen for the first time costs only what depends on it (`_CompiledPolicy`): the rules
its groups can match come from an index, a template without placeholders is its permission
already, the others are format patterns filled with the caller's checked values, statements
sort by their JSON text built directly, and a GET's default scope is known to be its own whole
part. bench/baselines/policy_reference.py keeps the straightforward algorithm this replaced;
tests/vendor/test_policy_differential.py holds the two equal on generated policies and callers.

Reserved caches (the shared token cache, where the vendor keeps every caller's tokens under
guessable item keys) are never granted: a policy naming one, or `*` (which includes it), fails to
load, and a placeholder that renders to one drops that permission. Otherwise a caller allowed to
read that cache could read other callers' tokens, with permissions it does not hold.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, NamedTuple

from shared.errors import ConfigError, ForbiddenError, UnknownScopeError
from shared.permissions import (
    ALL,
    MAX_PERMISSIONS,
    CachePermission,
    CacheRole,
    Permission,
    TopicPermission,
    TopicRole,
    canonical,
    permission_from_json,
)
from vendor.bounded_memo import BoundedMemo
from vendor.identity import Identity

SAFE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:/+=-]{0,127}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A UUID's first group: followed by `-`, it is the start of every UUID that begins with it.
UUID_HEAD = re.compile(r"[0-9a-fA-F]{8}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER_NAME = re.compile(r"sub|principal|claims\.[A-Za-z0-9_:.-]{1,128}")
_TEMPLATE_FIELDS = ("cache", "topic", "key", "keyPrefix")
_RULE_FIELDS = {"name", "when", "allow", "maxTtlSeconds", "shared"}
_WHEN_FIELDS = {"groups", "claims"}


@dataclass(frozen=True)
class Allowance:
    """One permission a caller may hold, and the longest lifetime its rule allows."""

    permission: Permission
    max_ttl_seconds: int


@dataclass(frozen=True)
class Grant:
    """What a caller receives: canonical permissions and a lifetime within every cap."""

    permissions: tuple[Permission, ...]
    ttl_seconds: int
    #: The shared rule this grant is exactly (one token for all its callers), else None.
    shared_rule: str | None = None

    @property
    def shared_token_id(self) -> str | None:
        """The token id of a shared grant: it names the rule, since the token serves many callers."""
        return None if self.shared_rule is None else SHARED_TOKEN_ID_PREFIX + self.shared_rule

    @cached_property
    def permissions_json(self) -> list[dict[str, str]]:
        """The permissions' JSON form, built once per grant (a memoized grant serves many vends).

        Callers must not mutate it: it is shared by every response built from this grant.
        """
        return [p.to_json() for p in self.permissions]


#: Lifetimes a requested `ttlSeconds` is rounded down to (see `bucket_ttl` and vendor/README.md).
TTL_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 25 * 3600)
SHARED_TOKEN_ID_PREFIX = "rule:"
#: Momento's SDKs refuse longer token ids (JS SDK `validateDisposableTokenTokenID`).
MAX_TOKEN_ID_CHARS = 64


def bucket_ttl(requested: int | None, cap: int) -> int:
    """The lifetime granted for an ask of `requested` seconds under `cap`: the cap or a bucket.

    Rounded down (never longer than asked, except that nothing is shorter than a minute), so that
    an ask of 3000, 3001, ... seconds is one grant and one token, not one mint each: a grant has
    at most `len(TTL_BUCKETS) + 1` lifetimes whatever callers send.
    """
    target = cap if requested is None else min(cap, max(requested, TTL_BUCKETS[0]))
    if target >= cap:
        return cap
    return max(b for b in TTL_BUCKETS if b <= target)


#: How many distinct identities' results a policy keeps (about 1 KiB each).
MAX_REMEMBERED_IDENTITIES = 10_000


class _IdentityMemo[Value](BoundedMemo[Value]):
    """Results per identity key (`vendor.bounded_memo`), `MAX_REMEMBERED_IDENTITIES` by default."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__(limit if limit is not None else MAX_REMEMBERED_IDENTITIES)


def covers(allowed: Permission, requested: Permission) -> bool:
    """True when `allowed` is the same as or wider than `requested` in every dimension."""
    if allowed.cache != ALL and allowed.cache != requested.cache:
        return False
    if isinstance(allowed, TopicPermission) and isinstance(requested, TopicPermission):
        if allowed.topic != ALL and allowed.topic != requested.topic:
            return False
        return allowed.role in (TopicRole.PUBLISH_SUBSCRIBE, requested.role)
    if isinstance(allowed, CachePermission) and isinstance(requested, CachePermission):
        if allowed.role not in (CacheRole.READ_WRITE, requested.role):
            return False
        if allowed.key is None and allowed.key_prefix is None:
            return True
        if allowed.key is not None:
            return requested.key == allowed.key
        prefix = allowed.key_prefix or ""
        narrower = requested.key if requested.key is not None else requested.key_prefix
        return narrower is not None and narrower.startswith(prefix)
    return False


def _resource(permission: Permission) -> tuple[str | None, ...]:
    if isinstance(permission, TopicPermission):
        return ("topic", permission.cache, permission.topic)
    return ("cache", permission.cache, permission.key, permission.key_prefix)


def _union(a: Permission, b: Permission) -> Permission:
    if covers(a, b):
        return a
    if covers(b, a):
        return b
    # read + write (or publish + subscribe): each is allowed, so their union is too
    if isinstance(a, TopicPermission):
        return dataclasses.replace(a, role=TopicRole.PUBLISH_SUBSCRIBE)
    return dataclasses.replace(a, role=CacheRole.READ_WRITE)


def merge_same_resource(
    chosen: list[tuple[Permission, int]], allowances: Sequence[Allowance]
) -> list[tuple[Permission, int]]:
    """One statement per resource, with the union of the roles allowed there.

    Momento refuses a token with two statements for the same resource (JS SDK auth-client:
    "duplicate/conflicting cache permissions"; INVALID_ARGUMENT, which was a 500), and a caller
    matching two rules (members: read_only, admins: read_write on the same cache) got exactly
    that. A subsumed statement is dropped. Two that only together make the broader role
    (read_only + write_only = read_write, publish + subscribe) merge only when the policy allows
    that broader role on the resource: holding both halves is not holding read_write (outside
    finding F1); otherwise `ForbiddenError` says why. The lifetime is the smaller of the two caps.
    """
    return _merge(chosen, [a.permission for a in allowances])[0]


def _merge(
    chosen: Sequence[tuple[Permission, int]], allowed: Sequence[Permission]
) -> tuple[list[tuple[Permission, int]], bool]:
    """`merge_same_resource`, and whether a union was made (else the result keeps `chosen`'s order
    and statements, so a canonical `chosen` stays canonical)."""
    merged: dict[tuple[str | None, ...], tuple[Permission, int]] = {}
    united = False
    for permission, ttl in chosen:
        resource = _resource(permission)
        if resource in merged:
            other, other_ttl = merged[resource]
            union = _union(other, permission)
            if union not in (other, permission) and not any(covers(a, union) for a in allowed):
                refused = json.dumps(union.to_json(), sort_keys=True, separators=(",", ":"))
                raise ForbiddenError(
                    f"one token cannot hold two roles on one resource, and the policy does not allow "
                    f"their union {refused}; ask for two tokens"
                )
            permission, ttl = union, min(ttl, other_ttl)
            united = True
        merged[resource] = (permission, ttl)
    kept = list(merged.values())
    # A statement another one covers (a read_write key prefix under read_write on the whole
    # cache) adds nothing: dropped, so the token holds one statement per power. Only one on the
    # same cache or on all caches can cover it, so only those are compared (not all n²). The kept
    # statements have distinct resources, so "another one" is "not this object".
    by_cache: dict[str, list[Permission]] = {}
    for p, _ in kept:
        by_cache.setdefault(p.cache, []).append(p)
    on_all = by_cache.get(ALL, []) if len(by_cache) > 1 else []
    return [
        (p, t)
        for p, t in kept
        if not any(
            o is not p and covers(o, p)
            for o in (by_cache[p.cache] if p.cache == ALL else by_cache[p.cache] + on_all)
        )
    ], united


def _item_level(permission: Permission) -> bool:
    return isinstance(permission, CachePermission) and (
        permission.key is not None or permission.key_prefix is not None
    )


def default_scope(allowances: tuple[Allowance, ...]) -> tuple[Allowance, ...]:
    """What GET grants: the whole allowance, unless one Momento token cannot hold it.

    The SDK cannot put key / key-prefix grants and topic grants into one disposable token
    (see `shared/momento_scopes.py`). When an allowance mixes them, GET grants the cache part
    (whole caches, keys, prefixes) and the caller asks for its topics with a POST.
    """
    if _mixes_items_and_topics([a.permission for a in allowances]):
        return tuple(a for a in allowances if isinstance(a.permission, CachePermission))
    return allowances


def _mixes_items_and_topics(permissions: Sequence[Permission]) -> bool:
    has_topics = any(isinstance(p, TopicPermission) for p in permissions)
    return has_topics and any(_item_level(p) for p in permissions)


def _safe(value: str | None, delimiter: str | None) -> bool:
    """True when `value` may fill a placeholder; `delimiter` is what follows it in a keyPrefix.

    Prefix-freeness: for two different safe values a and b, `a + delimiter` never starts
    `b + delimiter`, so no caller's prefix covers another caller's keys.
    """
    if value is None or not SAFE_VALUE.fullmatch(value):
        return False
    if delimiter is None:
        return True
    if delimiter == "-" and UUID.fullmatch(value):
        return True
    if delimiter in value:
        return False
    return not (delimiter == "-" and UUID_HEAD.fullmatch(value))


@dataclass(frozen=True)
class _Template:
    """A permission statement with placeholders, validated when the policy loads."""

    fields: dict[str, str]

    @classmethod
    def parse(cls, item: Any, where: str) -> _Template:
        if not isinstance(item, dict):
            raise ConfigError([f"{where}: each allowed permission must be a JSON object"])
        fields = {str(k): v for k, v in item.items()}
        for name, value in fields.items():
            if not isinstance(value, str):
                raise ConfigError([f"{where}: field {name!r} must be a string"])
            if name not in _TEMPLATE_FIELDS and _PLACEHOLDER.search(value):
                allowed = ", ".join(_TEMPLATE_FIELDS)
                raise ConfigError([f"{where}: placeholders are only allowed in {allowed}"])
            stripped = _PLACEHOLDER.sub("", value)
            if "{" in stripped or "}" in stripped:
                raise ConfigError([f"{where}: unbalanced brace in {name!r}"])
            for match in _PLACEHOLDER.finditer(value):
                if not _PLACEHOLDER_NAME.fullmatch(match.group(1)):
                    unknown = match.group(1)
                    raise ConfigError(
                        [f"{where}: unknown placeholder {{{unknown}}}; use sub, principal, claims.X"]
                    )
                if name == "keyPrefix":
                    rest = value[match.end() :]
                    if not rest or rest.startswith("{"):
                        raise ConfigError(
                            [f"{where}: a keyPrefix placeholder must be followed by a literal delimiter"]
                        )
        template = cls(fields)
        # Validate the shape once with a harmless sample value, so a typo fails at cold start.
        try:
            permission_from_json(template.render(Identity(principal="0"), sample_everything=True))
        except UnknownScopeError as exc:
            raise ConfigError([f"{where}: {exc}"]) from None
        return template

    def render(self, identity: Identity, *, sample_everything: bool = False) -> dict[str, str] | None:
        """The statement for this caller, or None when a placeholder value is missing or unsafe."""
        out: dict[str, str] = {}
        for name, value in self.fields.items():
            parts: list[str] = []
            pos = 0
            for match in _PLACEHOLDER.finditer(value):
                parts.append(value[pos : match.start()])
                rest = value[match.end() :]
                delimiter = rest[0] if name == "keyPrefix" and rest else None
                filled = "0" if sample_everything else _lookup(identity, match.group(1))
                if not sample_everything and not _safe(filled, delimiter):
                    return None
                parts.append(filled or "")
                pos = match.end()
            parts.append(value[pos:])
            out[name] = "".join(parts)
        return out


#: A compiled template field: a `str.format` pattern with `{}` for each placeholder, and each
#: placeholder's (name, keyPrefix delimiter) in order.
_Field = tuple[str, tuple[tuple[str, str | None], ...]]


def _pieces(name: str, value: str) -> _Field:
    """A template field cut once into literals and placeholders, as `_Template.render` walks it.

    Literals hold no brace (`_Template.parse` refuses unbalanced ones), so they are their own
    format text."""
    pattern: list[str] = []
    slots: list[tuple[str, str | None]] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(value):
        pattern.append(value[pos : match.start()] + "{}")
        rest = value[match.end() :]
        slots.append((match.group(1), rest[0] if name == "keyPrefix" and rest else None))
        pos = match.end()
    pattern.append(value[pos:])
    return "".join(pattern), tuple(slots)


def _sort_key(permission: Permission) -> str:
    """`json.dumps(permission.to_json(), sort_keys=True)`, the key of `canonical`, built directly.

    The same text (keys in sorted order, json's default separators, its own string escaping), so
    `_canonical` orders exactly as `shared.permissions.canonical` does, at a fraction of the cost.
    """
    cache = _json_string(permission.cache)
    role = _json_string(permission.role.value)
    if isinstance(permission, TopicPermission):
        return f'{{"cache": {cache}, "role": {role}, "topic": {_json_string(permission.topic)}}}'
    if permission.key is not None:
        return f'{{"cache": {cache}, "key": {_json_string(permission.key)}, "role": {role}}}'
    if permission.key_prefix is not None:
        return f'{{"cache": {cache}, "keyPrefix": {_json_string(permission.key_prefix)}, "role": {role}}}'
    return f'{{"cache": {cache}, "role": {role}}}'


def _canonical(permissions: Sequence[Permission]) -> tuple[Permission, ...]:
    """`shared.permissions.canonical`, with the sort key built without the json encoder."""
    return tuple(sorted(set(permissions), key=_sort_key))


def _valid_name(value: str, *, allow_all: bool) -> bool:
    """`shared.permissions._name`'s checks on a rendered field, as a test instead of an exception."""
    return bool(value) and value == value.strip() and (allow_all or value != ALL) and len(value) <= 255


#: How many rendered statements a template remembers per distinct placeholder values.
MAX_REMEMBERED_RENDERINGS = 1_000


@dataclass(frozen=True)
class _CompiledTemplate:
    """A template prepared once: its permission when it has no placeholder, else its pieces.

    Only the fields that can hold a placeholder are rendered per caller; the role, the kind of
    statement and every literal were checked when the policy loaded. A rendering depends only
    on the values of the template's placeholders, so it is remembered per values (bounded):
    the thousand callers of one tenant share one `tenant-{claims.tenant}` statement. A template
    reading `{sub}` / `{principal}` differs per caller: remembering it would only cost.
    """

    #: The permission of a template without placeholders (the same for every caller).
    static: Permission | None
    #: A topic statement's role, else a cache statement's (one of the two is set).
    topic_role: TopicRole | None
    cache_role: CacheRole | None
    cache: _Field
    #: The second field's name ("topic", "key", "keyPrefix") and pieces, if any.
    second: tuple[str, _Field] | None
    #: A key or key-prefix statement (what one token cannot hold beside a topic).
    item: bool
    max_ttl_seconds: int
    #: The placeholder names the template reads, in order (the key of `renderings`).
    names: tuple[str, ...]
    #: `_sort_key(static)`, or "" without a static permission.
    static_key: str
    #: Reads `sub` or `principal`: a value per caller, so its renderings are not remembered.
    per_caller: bool
    renderings: _IdentityMemo[tuple[Permission | None, str]] = field(
        compare=False, repr=False, default_factory=lambda: _IdentityMemo(MAX_REMEMBERED_RENDERINGS)
    )

    @classmethod
    def compile(cls, template: _Template, max_ttl_seconds: int) -> _CompiledTemplate:
        fields = template.fields
        static = None
        if not any(_PLACEHOLDER.search(v) for v in fields.values()):
            static = permission_from_json(fields)  # validated when the template was parsed
        second = next(
            ((n, _pieces(n, fields[n])) for n in ("topic", "key", "keyPrefix") if n in fields), None
        )
        cache = _pieces("cache", fields["cache"])
        names = dict.fromkeys(name for name, _ in cache[1] + (second[1][1] if second else ()))
        topic = "topic" in fields
        return cls(
            static,
            TopicRole(fields["role"]) if topic else None,
            None if topic else CacheRole(fields["role"]),
            cache,
            second,
            "key" in fields or "keyPrefix" in fields,
            max_ttl_seconds,
            tuple(names),
            "" if static is None else _sort_key(static),
            bool({"sub", "principal"} & set(names)),
        )

    def permission(self, looked_up: dict[str, str | None]) -> tuple[Permission | None, str]:
        """This caller's permission and its sort key (`looked_up`: its placeholder values)."""
        if self.static is not None:
            return self.static, self.static_key
        if self.per_caller:
            rendered = self._render(looked_up)
            return rendered, "" if rendered is None else _sort_key(rendered)
        values = tuple([looked_up[name] for name in self.names])
        known = self.renderings.get(values)
        if known is None:
            rendered = self._render(looked_up)
            known = (rendered, "" if rendered is None else _sort_key(rendered))
            self.renderings.put(values, known)
        return known

    def _render(self, looked_up: dict[str, str | None]) -> Permission | None:
        """As `_Template.render` + `permission_from_json`; None if a value is unsafe or invalid."""
        cache = _fill(self.cache, looked_up)
        if cache is None or not _valid_name(cache, allow_all=True):
            return None
        if self.topic_role is not None:
            assert self.second is not None
            topic = _fill(self.second[1], looked_up)
            if topic is None or not _valid_name(topic, allow_all=True):
                return None
            return TopicPermission(cache=cache, topic=topic, role=self.topic_role)
        key = prefix = None
        if self.second is not None:
            text = _fill(self.second[1], looked_up)
            if text is None or not _valid_name(text, allow_all=False):
                return None
            if self.second[0] == "key":
                key = text
            else:
                prefix = text
        assert self.cache_role is not None
        return CachePermission(cache=cache, role=self.cache_role, key=key, key_prefix=prefix)


def _fill(compiled: _Field, looked_up: dict[str, str | None]) -> str | None:
    pattern, slots = compiled
    if not slots:
        return pattern
    values: list[str] = []
    for name, delimiter in slots:
        value = looked_up[name]
        if value is None or not _safe(value, delimiter):
            return None
        values.append(value)
    return pattern.format(*values)


def _lookup(identity: Identity, name: str) -> str | None:
    if name in ("principal", "sub") and not identity.names_resources:
        return None  # an STS session name: chosen by the caller, so it names nothing
    if name == "principal":
        return identity.principal
    if name == "sub":
        return identity.claims.get("sub", identity.principal)
    return identity.claims.get(name.removeprefix("claims."))


@dataclass(frozen=True)
class _Rule:
    name: str
    groups: frozenset[str] | None
    claims: dict[str, frozenset[str]]
    allow: tuple[_Template, ...]
    max_ttl_seconds: int
    #: For a rule marked `"shared": true`: its permissions (no placeholders, so the same for all).
    shared: tuple[Permission, ...] | None = None

    def matches(self, identity: Identity) -> bool:
        if self.groups is not None and not self.groups.intersection(identity.groups):
            return False
        return all(identity.claims.get(claim) in values for claim, values in self.claims.items())


def _string_set(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError([f"{where}: expected a non-empty string or list of strings"])
    return frozenset(value)


def _check_reserved(template: _Template, reserved: frozenset[str], where: str) -> None:
    cache = template.fields.get("cache", "")
    if not reserved or _PLACEHOLDER.search(cache):
        return
    if cache == ALL or cache in reserved:
        raise ConfigError(
            [f"{where}: cache {cache!r} would include the shared token cache ({', '.join(sorted(reserved))})"]
        )


def _parse_rule(raw: Any, index: int, ceiling: int, reserved: frozenset[str]) -> _Rule:
    where = f"VENDING_POLICY rules[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: must be a JSON object"])
    extra = sorted(set(raw) - _RULE_FIELDS)
    if extra:
        raise ConfigError([f"{where}: unknown field(s) {', '.join(extra)}"])
    name = raw.get("name", f"rule-{index}")
    when = raw.get("when", {})
    if not isinstance(name, str) or not isinstance(when, dict):
        raise ConfigError([f"{where}: name must be a string and when an object"])
    extra = sorted(set(when) - _WHEN_FIELDS)
    if extra:
        raise ConfigError([f"{where}.when: unknown field(s) {', '.join(extra)}"])
    groups = _string_set(when["groups"], f"{where}.when.groups") if "groups" in when else None
    raw_claims = when.get("claims", {})
    if not isinstance(raw_claims, dict):
        raise ConfigError([f"{where}.when.claims: must be an object of claim -> value(s)"])
    claims = {str(k): _string_set(v, f"{where}.when.claims.{k}") for k, v in raw_claims.items()}
    allow = raw.get("allow")
    if not isinstance(allow, list) or not allow:
        raise ConfigError([f"{where}: allow must be a non-empty list of permissions"])
    templates = tuple(_Template.parse(item, f"{where}.allow[{i}]") for i, item in enumerate(allow))
    for i, template in enumerate(templates):
        _check_reserved(template, reserved, f"{where}.allow[{i}]")
    ttl = raw.get("maxTtlSeconds", ceiling)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ConfigError([f"{where}: maxTtlSeconds must be a positive integer"])
    shared = _shared_permissions(raw.get("shared", False), templates, name, where)
    return _Rule(name, groups, claims, templates, min(ttl, ceiling), shared)


def _shared_permissions(
    flag: Any, templates: tuple[_Template, ...], name: str, where: str
) -> tuple[Permission, ...] | None:
    """A shared rule's one grant; refused at load unless every caller would get the same token.

    A placeholder makes a grant per caller, and such a grant is never shared; a rule Momento
    cannot put into one token (key-level and topic grants, more than 20 statements) has no one
    token to share; the token id `rule:<name>` must fit Momento's 64 characters.
    """
    if not isinstance(flag, bool):
        raise ConfigError([f"{where}: shared must be true or false"])
    if not flag:
        return None
    if any(_PLACEHOLDER.search(v) for t in templates for v in t.fields.values()):
        raise ConfigError(
            [f"{where}: a shared rule cannot use placeholders (its grant would differ per caller)"]
        )
    permissions = canonical([permission_from_json(t.fields) for t in templates])
    if len(permissions) > MAX_PERMISSIONS or _mixes_items_and_topics(permissions):
        raise ConfigError([f"{where}: a shared rule's permissions must fit one Momento token"])
    if len(SHARED_TOKEN_ID_PREFIX + name) > MAX_TOKEN_ID_CHARS:
        limit = MAX_TOKEN_ID_CHARS - len(SHARED_TOKEN_ID_PREFIX)
        raise ConfigError([f"{where}: a shared rule's name must be at most {limit} characters"])
    return permissions


def _members(requested: Sequence[Permission], allowed: Sequence[Permission]) -> bool:
    """True when every requested statement is one of the allowed ones (a subset of the list).

    Equality, not `covers`: a request *narrower* than an allowed statement (read-only where
    read-write is allowed, one key under an allowed prefix) is a wish for less privilege and is
    granted exactly (bounded by the mint budget), never widened back.
    """
    return set(requested) <= set(allowed)


def _whole(
    identity: Identity,
    rules: tuple[_Rule, ...],
    allowances: tuple[Allowance, ...],
    chosen: list[tuple[Permission, int]],
) -> tuple[list[tuple[Permission, int]], str | None] | None:
    """The whole grant `chosen` is part of, if the caller could have asked for it at once.

    First a shared rule's whole grant (one token for every caller of the rule), then the part of
    the caller's allowance one token can hold (its cache part or its topic part). Subsets of
    the list therefore do not multiply mints: a caller varying which of its statements it asks
    for still gets one token per part and lifetime bucket. Widening never shortens the
    lifetime: only permissions whose cap reaches the request's cap are added.
    """
    wanted = [p for p, _ in chosen]
    cap = min(ttl for _, ttl in chosen)
    for rule in rules:
        if (
            rule.shared is not None
            and rule.max_ttl_seconds >= cap
            and rule.matches(identity)
            and _members(wanted, rule.shared)
        ):
            return [(p, rule.max_ttl_seconds) for p in rule.shared], rule.name
    long_enough = tuple(a for a in allowances if a.max_ttl_seconds >= cap)
    parts: tuple[tuple[Allowance, ...], ...]
    if _mixes_items_and_topics([a.permission for a in long_enough]):
        parts = (
            tuple(a for a in long_enough if isinstance(a.permission, CachePermission)),
            tuple(a for a in long_enough if isinstance(a.permission, TopicPermission)),
        )
    else:
        parts = (long_enough,)
    for part in parts:
        if len(part) <= MAX_PERMISSIONS and _members(wanted, [a.permission for a in part]):
            return [(a.permission, a.max_ttl_seconds) for a in part], None
    return None


def _claims_read(rules: tuple[_Rule, ...]) -> tuple[str, ...]:
    """Every claim a rule's `when` or a template's placeholder reads (`{sub}` reads claim `sub`)."""
    names: set[str] = set()
    for rule in rules:
        names.update(rule.claims)
        for template in rule.allow:
            for value in template.fields.values():
                for match in _PLACEHOLDER.finditer(value):
                    placeholder = match.group(1)
                    if placeholder == "sub":
                        names.add("sub")
                    elif placeholder.startswith("claims."):
                        names.add(placeholder.removeprefix("claims."))
    return tuple(sorted(names))


class _CompiledPolicy:
    """The rules prepared once per policy, so a new caller costs only what depends on it.

    Which rules a group can match is an index (a caller with groups g1, g2 looks at the rules
    without a group condition and those naming g1 or g2, not at every rule); every template is
    cut into pieces, and one without placeholders is its permission already; the placeholders'
    (name, delimiter) pairs are listed so each is looked up and checked (`_safe`) once per caller.
    The result is exactly the straightforward algorithm's (bench/baselines/policy_reference.py;
    tests/vendor/test_policy_differential.py compares them).
    """

    def __init__(self, rules: tuple[_Rule, ...], reserved_caches: frozenset[str]) -> None:
        self._rules = rules
        self._reserved = frozenset({ALL, *reserved_caches}) if reserved_caches else frozenset()
        self._templates = tuple(
            tuple(self._usable(t, rule.max_ttl_seconds) for t in rule.allow) for rule in rules
        )
        self._ungrouped = tuple(i for i, rule in enumerate(rules) if rule.groups is None)
        by_group: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for group in sorted(rule.groups or ()):
                by_group.setdefault(group, []).append(i)
        self._by_group = {group: tuple(indexes) for group, indexes in by_group.items()}
        names = (c.names for per_rule in self._templates for c in per_rule if c is not None)
        self._names = tuple(dict.fromkeys(name for some in names for name in some))
        self._shared = tuple(
            (i, frozenset(rule.shared)) for i, rule in enumerate(rules) if rule.shared is not None
        )
        self._shared_indexes = frozenset(i for i, _ in self._shared)

    def _usable(self, template: _Template, max_ttl_seconds: int) -> _CompiledTemplate | None:
        """The compiled template, or None when its permission is reserved for every caller."""
        compiled = _CompiledTemplate.compile(template, max_ttl_seconds)
        if compiled.static is not None and compiled.static.cache in self._reserved:
            return None  # cannot load (`_check_reserved`); kept for exactness
        return compiled

    def allowances(self, identity: Identity) -> tuple[Allowance, ...]:
        """`Policy.allowances` for one caller, computed (not remembered)."""
        held = self._held(identity)
        return tuple(Allowance(p, t) for p, t in zip(held.permissions, held.ttls, strict=True))

    def _held(self, identity: Identity) -> _Held:
        rules = self._rules
        matched = set(self._ungrouped)
        for group in identity.groups:
            matched.update(self._by_group.get(group, ()))
        if not matched:
            return _NOTHING
        looked_up = {name: _lookup(identity, name) for name in self._names}
        claims = identity.claims
        reserved = self._reserved
        # Keyed by the sort key: one text per permission (its JSON form), hashed once and cached.
        best: dict[str, tuple[Permission, int]] = {}
        topics = items = False
        for index in list(matched):
            rule = rules[index]
            if rule.claims and not all(claims.get(c) in allowed for c, allowed in rule.claims.items()):
                matched.discard(index)
                continue
            for compiled in self._templates[index]:
                if compiled is None:
                    continue
                permission, key = compiled.permission(looked_up)
                if permission is None or permission.cache in reserved:
                    continue
                if compiled.topic_role is not None:
                    topics = True
                elif compiled.item:
                    items = True
                ttl = compiled.max_ttl_seconds
                known = best.get(key)
                if known is None or known[1] < ttl:
                    best[key] = (permission, ttl)
        ordered = [best[key] for key in sorted(best)]
        return _Held(
            tuple([p for p, _ in ordered]),
            tuple([t for _, t in ordered]),
            frozenset(matched),
            topics and items,
        )

    def grant(
        self,
        identity: Identity,
        requested: tuple[Permission, ...] | None,
        requested_ttl_seconds: int | None,
    ) -> Grant:
        """`Policy.grant` for one caller, computed (not remembered); see `Policy.grant`."""
        held = self._held(identity)
        permissions, ttls = held.permissions, held.ttls
        if not permissions:
            raise ForbiddenError("no vending policy rule allows this caller anything")
        scope: list[tuple[Permission, int]]
        chosen: list[tuple[Permission, int]]
        if requested is None:
            if held.mixes:
                scope = [
                    (p, t) for p, t in zip(permissions, ttls, strict=True) if isinstance(p, CachePermission)
                ]
            else:
                scope = list(zip(permissions, ttls, strict=True))
            if len(scope) > MAX_PERMISSIONS:
                raise ForbiddenError(
                    f"the policy allows more than {MAX_PERMISSIONS} permissions; POST a subset of them"
                )
            chosen = scope
            # Taken from the canonical allowance in its order: canonical unless a merge unites.
            ordered = True
        else:
            if _mixes_items_and_topics(requested):
                raise UnknownScopeError(
                    "one token cannot combine topic permissions with key or key-prefix permissions "
                    "(Momento's SDK has no scope for that); ask for two tokens"
                )
            scope = list(zip(permissions, ttls, strict=True))
            chosen = []
            for permission in requested:
                caps = [t for a, t in scope if covers(a, permission)]
                if not caps:
                    refused = json.dumps(permission.to_json(), sort_keys=True, separators=(",", ":"))
                    raise ForbiddenError(f"not allowed: {refused}")
                chosen.append((permission, max(caps)))
            ordered = False
        shared_rule = None
        whole: tuple[list[tuple[Permission, int]], str | None] | None
        if requested is None:
            # A default scope is its own whole part (all of it lasts its shortest cap, it fits one
            # token and holds what is wanted), unless a shared rule's grant is it or holds it.
            whole = self._whole_shared(held.matched, chosen) or (scope, None)
        else:
            whole = self._whole(held.matched, scope, chosen)
        merged: list[tuple[Permission, int]] | None = None
        if whole is not None:
            try:  # the widened grant may not fit one token (two roles, no union): then as asked
                merged, united = _merge(whole[0], permissions)
                shared_rule, ordered = whole[1], not united
            except ForbiddenError:
                merged = None
        if merged is None:
            merged, united = _merge(chosen, permissions)
            ordered = ordered and not united
        ttl = bucket_ttl(requested_ttl_seconds, min(t for _, t in merged))
        granted = tuple(p for p, _ in merged) if ordered else _canonical([p for p, _ in merged])
        return Grant(granted, ttl, shared_rule)

    def _whole(
        self,
        matched: frozenset[int],
        allowances: list[tuple[Permission, int]],
        chosen: list[tuple[Permission, int]],
    ) -> tuple[list[tuple[Permission, int]], str | None] | None:
        """`_whole` on the caller's matched rules and (permission, cap) pairs."""
        shared = self._whole_shared(matched, chosen)
        if shared is not None:
            return shared
        wanted = {p for p, _ in chosen}
        cap = min(t for _, t in chosen)
        long_enough = [(p, t) for p, t in allowances if t >= cap]
        parts: tuple[list[tuple[Permission, int]], ...]
        if _mixes_items_and_topics([p for p, _ in long_enough]):
            parts = (
                [(p, t) for p, t in long_enough if isinstance(p, CachePermission)],
                [(p, t) for p, t in long_enough if isinstance(p, TopicPermission)],
            )
        else:
            parts = (long_enough,)
        for part in parts:
            if len(part) <= MAX_PERMISSIONS and wanted <= {p for p, _ in part}:
                return part, None
        return None

    def _whole_shared(
        self, matched: frozenset[int], chosen: list[tuple[Permission, int]]
    ) -> tuple[list[tuple[Permission, int]], str | None] | None:
        """The first matched shared rule whose grant holds `chosen` and lasts as long, if any."""
        if not self._shared or matched.isdisjoint(self._shared_indexes):
            return None
        wanted = {p for p, _ in chosen}
        cap = min(t for _, t in chosen)
        for index, members in self._shared:
            rule = self._rules[index]
            if index in matched and rule.max_ttl_seconds >= cap and wanted <= members:
                assert rule.shared is not None
                return [(p, rule.max_ttl_seconds) for p in rule.shared], rule.name
        return None


class _Held(NamedTuple):
    """What one caller may hold: canonical permissions, their caps, the rules it matches."""

    permissions: tuple[Permission, ...]
    ttls: tuple[int, ...]
    matched: frozenset[int]
    #: `_mixes_items_and_topics(permissions)`, noted while they were collected.
    mixes: bool


_NOTHING = _Held((), (), frozenset(), False)


@dataclass(frozen=True)
class Policy:
    """A parsed policy document; see `vendor/README.md` for its JSON form."""

    rules: tuple[_Rule, ...]
    #: Caches no caller may be granted (the shared token cache).
    reserved_caches: frozenset[str] = frozenset()
    #: The claims the policy reads; with principal and groups, all a grant depends on.
    claims_read: tuple[str, ...] = field(init=False, compare=False)
    _compiled: _CompiledPolicy = field(init=False, compare=False, repr=False)
    _allowances: _IdentityMemo[tuple[Allowance, ...]] = field(
        init=False, compare=False, repr=False, default_factory=_IdentityMemo
    )
    #: The default (GET) grant per identity, or the reason it is refused.
    _defaults: _IdentityMemo[Grant | str] = field(
        init=False, compare=False, repr=False, default_factory=_IdentityMemo
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims_read", _claims_read(self.rules))
        object.__setattr__(self, "_compiled", _CompiledPolicy(self.rules, self.reserved_caches))

    def identity_key(self, identity: Identity) -> tuple[Any, ...]:
        """Everything about `identity` this policy's answer can depend on."""
        claims = identity.claims
        return (identity.principal, identity.groups, *[claims.get(name) for name in self.claims_read])

    @classmethod
    def from_json(
        cls, document: Any, ceiling_ttl_seconds: int, *, reserved_caches: frozenset[str] = frozenset()
    ) -> Policy:
        """Parse and validate a policy; every mistake is a `ConfigError` at cold start."""
        if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
            raise ConfigError(['VENDING_POLICY: expected {"rules": [...]}'])
        extra = sorted(set(document) - {"rules", "version"})
        if extra:
            raise ConfigError([f"VENDING_POLICY: unknown field(s) {', '.join(extra)}"])
        rules = tuple(
            _parse_rule(raw, i, ceiling_ttl_seconds, reserved_caches)
            for i, raw in enumerate(document["rules"])
        )
        return cls(rules, reserved_caches)

    def allowances(self, identity: Identity) -> tuple[Allowance, ...]:
        """Everything this caller may hold: the union of its matching rules, placeholders filled."""
        key = self.identity_key(identity)
        known = self._allowances.get(key)
        if known is None:
            known = self._compiled.allowances(identity)
            self._allowances.put(key, known)
        return known

    def grant(
        self,
        identity: Identity,
        requested: tuple[Permission, ...] | None,
        requested_ttl_seconds: int | None,
    ) -> Grant:
        """The permissions and lifetime this caller gets; `ForbiddenError` naming the refused part.

        `requested=None` (GET) means the caller's default scope (`default_scope`). A request is
        then widened to the whole grant it is part of (`_whole`: a shared rule's, else the part of
        the allowance one token holds), so equal wishes share one token. The lifetime is the
        smallest cap among the rules that allow each granted permission, rounded down to a bucket
        (`bucket_ttl`).
        The default grant is remembered per identity (`identity_key`).
        """
        if requested is None and requested_ttl_seconds is None:
            key = self.identity_key(identity)
            known = self._defaults.get(key)
            if known is None:
                try:
                    known = self._grant(identity, None, None)
                except ForbiddenError as exc:
                    known = str(exc)
                self._defaults.put(key, known)
            if isinstance(known, str):
                raise ForbiddenError(known)
            return known
        return self._grant(identity, requested, requested_ttl_seconds)

    def _grant(
        self,
        identity: Identity,
        requested: tuple[Permission, ...] | None,
        requested_ttl_seconds: int | None,
    ) -> Grant:
        return self._compiled.grant(identity, requested, requested_ttl_seconds)
