"""Shared gRPC plumbing: fault injection, authentication from metadata, error mapping."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc

from local.momento.credentials import Credential
from local.momento.errors import GRPC_STATUS, MomentoError, invalid
from local.momento.faults import InjectedFault
from local.momento.state import State

F = TypeVar("F", bound=Callable[..., Any])


def metadata(context: grpc.ServicerContext, name: str) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return value if isinstance(value, str) else value.decode()
    return None


def abort(context: grpc.ServicerContext, err: MomentoError) -> NoReturn:
    context.abort(GRPC_STATUS[err.code], err.message)
    raise AssertionError("unreachable")  # context.abort raises


def abort_unavailable(context: grpc.ServicerContext, fault: InjectedFault) -> NoReturn:
    context.abort(grpc.StatusCode.UNAVAILABLE, str(fault))
    raise AssertionError("unreachable")


class Service:
    """Base of the servicers: `self.state`, `self.caller(context)`."""

    def __init__(self, state: State) -> None:
        self.state = state

    def caller(self, context: grpc.ServicerContext, body_token: str | None = None) -> Credential:
        """Authenticate the `authorization` header (or, if absent, the key in the request body)."""
        token = metadata(context, "authorization") or body_token
        return self.state.authenticate(token)

    def minter(self, context: grpc.ServicerContext, body_token: str, action: str) -> Credential:
        """The caller of a key or token operation: authenticated, then charged one unit of the auth
        quota (before the permission check, so refused attempts count too), then allowed to mint."""
        caller = self.caller(context, body_token)
        self.state.charge_auth_quota(caller)
        self.state.credentials.require(caller, caller.grants.mint, f"{action} (super-user key required)")
        return caller

    @staticmethod
    def cache_name(context: grpc.ServicerContext) -> str:
        name = metadata(context, "cache")
        if not name:
            raise invalid("Missing cache name (the 'cache' header)")
        return name


def unary(method: str) -> Callable[[F], F]:
    """Apply faults, then run the handler; `MomentoError` becomes its gRPC status."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def handler(self: Service, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                self.state.faults.apply(method)
                return fn(self, request, context)
            except InjectedFault as fault:
                abort_unavailable(context, fault)
            except MomentoError as err:
                abort(context, err)

        return handler  # type: ignore[return-value]

    return wrap


def streaming(method: str) -> Callable[[F], F]:
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def handler(self: Service, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                self.state.faults.apply(method)
                yield from fn(self, request, context)
            except InjectedFault as fault:
                abort_unavailable(context, fault)
            except MomentoError as err:
                abort(context, err)

        return handler  # type: ignore[return-value]

    return wrap
