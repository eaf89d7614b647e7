"""A vendor wired to real local parts: moto's Secrets Manager server and the local Momento server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from shared.momento_access import SdkMomentoAccess
from vendor.app import Service, build_app
from vendor.settings import VendorSettings
from vendor.vending import Vendor
from vendor.wiring import build_vendor, secrets_manager_client

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from local.stack import LocalStack

EVENTS = Path(__file__).parents[2] / "events" / "vendor"
POLICY = (EVENTS / "policy.json").read_text()
SECRET_ID = "momento/master-key"
#: The random value sealing the shared token cache (the template generates it beside the master key).
TOKEN_CACHE_KEY_SECRET_ID = "momento/token-cache-key"
CACHES = ("tenant-acme", "tenant-globex", "public", "orders", "keyguard-tokens")


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def auth_mode_of(event_name: str) -> str:
    """`get-token-jwt-forbidden.json` -> `jwt`: the third part of every event name is its auth mode."""
    return event_name.removesuffix(".json").split("-")[2]


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools' Logger reads from Lambda's context object."""

    function_name: str = "VendorFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:VendorFunction"
    aws_request_id: str = "test-request"


_CONTEXT = FakeLambdaContext()


@dataclass
class Built:
    app: APIGatewayHttpResolver
    vendor: Vendor
    access: SdkMomentoAccess
    settings: VendorSettings
    #: The product's own dispatch (token routes without the resolver, repeats from memory).
    service: Service = field(init=False)

    def __post_init__(self) -> None:
        self.service = Service(self.settings, self.vendor)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """What the deployed handler answers: the token routes directly, a repeat from memory."""
        fast = self.service.memory_hit(event, _CONTEXT)
        response: dict[str, Any] = fast if fast is not None else self.service.answer(event, _CONTEXT)
        return response

    def resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        """Powertools' resolver alone: the reference the direct token routes must agree with."""
        response: dict[str, Any] = self.app.resolve(event, cast("LambdaContext", None))
        return response


@dataclass
class VendorStack:
    stack: LocalStack
    sm: Any
    built: list[Built] = field(default_factory=list)

    @property
    def momento(self) -> Any:
        return self.stack.momento

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **self.stack.env(),
            "SECRET_ID": SECRET_ID,
            "AUTH_MODE": "jwt",
            "VENDING_POLICY": POLICY,
            "SHARED_TOKEN_CACHE_KEY_SECRET_ID": TOKEN_CACHE_KEY_SECRET_ID,
            # The fixture's Momento has no auth quota (set_quota(None)); tests of the vendor's own
            # quota rules (test_mint_budget*.py) set these back to Momento's numbers.
            "AUTH_QUOTA_PER_SECOND": "10000",
            "MINT_BUDGET_PER_PRINCIPAL": "10000",
            **overrides,
        }

    def build(self, **overrides: str) -> Built:
        settings = VendorSettings.from_environ(self.env(**overrides))
        access = SdkMomentoAccess(settings.common)
        vendor = build_vendor(settings, access=access, secrets_manager=secrets_manager_client(settings))
        built = Built(build_app(settings, vendor), vendor, access, settings)
        self.built.append(built)
        return built

    def store_key(self, api_key_json: dict[str, Any]) -> str:
        """Write a new AWSCURRENT (what a finished rotation leaves behind); returns its VersionId."""
        version: str = self.sm.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(api_key_json))[
            "VersionId"
        ]
        return version


@pytest.fixture
def vendor_stack(local_stack: LocalStack) -> Iterator[VendorStack]:
    local_stack.momento.set_quota(None)
    for cache in CACHES:
        local_stack.momento.create_cache(cache)
    sm = local_stack.secretsmanager_client()
    master = local_stack.momento.mint_master_key()
    sm.create_secret(Name=SECRET_ID, SecretString=json.dumps(master.console_json()))
    sm.create_secret(Name=TOKEN_CACHE_KEY_SECRET_ID, SecretString=secrets.token_urlsafe(48))
    vs = VendorStack(local_stack, sm)
    yield vs
    for built in vs.built:
        built.access.close()
