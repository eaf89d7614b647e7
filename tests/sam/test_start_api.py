"""`sam local start-api`: an HTTP client gets a token and uses it with the real Momento SDK.

The API runs the built template as shipped (the layer added by SAM) with warm containers,
AuthMode none (no authorizer runs under `sam local`), a policy granting everyone read-write on
one cache, and the functions pointed at the local stack through the Docker bridge.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from momento import CacheClient, Configurations
from momento.errors import MomentoErrorCode
from momento.responses import CacheGet, CacheSet

from local import sam_local
from local.momento.sdk import credential_provider_for_address

if TYPE_CHECKING:
    from local.stack import LocalStack

pytestmark = pytest.mark.sam

CACHE = "sam-api"
OTHER_CACHE = "not-granted"
POLICY = {
    "rules": [
        {"name": "everyone", "allow": [{"cache": CACHE, "role": "read_write"}], "maxTtlSeconds": 600},
    ]
}


@pytest.fixture(scope="module")
def api(
    built_template: Path,
    sam_stack: LocalStack,
    bridge_host: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    master = sam_stack.momento.mint_master_key()
    arn = sam_stack.secretsmanager_client().create_secret(
        Name=f"sam-api/{uuid.uuid4()}", SecretString=json.dumps(master.console_json())
    )["ARN"]
    sam_stack.momento.create_cache(CACHE)
    sam_stack.momento.create_cache(OTHER_CACHE)
    workdir = tmp_path_factory.mktemp("start-api")
    env_vars = sam_local.write_env_vars(
        workdir / "env.json",
        {
            "VendorFunction": {
                **sam_local.stack_variables(sam_stack, bridge_host),
                "SECRET_ID": arn,
                "AUTH_MODE": "none",
                "VENDING_POLICY": json.dumps(POLICY),
            }
        },
    )
    with sam_local.start_api(
        built_template,
        env_vars,
        sam_local.free_port(),
        log_path=workdir / "start-api.log",
        environ=sam_local.sts_override(sam_stack),
    ) as base:
        yield base


def cache_client(token: str, stack: LocalStack) -> CacheClient:
    provider = credential_provider_for_address(token, stack.momento_local_endpoint)
    return CacheClient(Configurations.Laptop.latest(), provider, timedelta(minutes=1))


def test_get_token_then_use_it_with_the_sdk(api: str, sam_stack: LocalStack) -> None:
    # WHEN a client asks the API for a token
    response = httpx.get(f"{api}/token", timeout=60)
    # THEN it gets one for the whole allowance
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["permissions"] == [{"cache": CACHE, "role": "read_write"}]
    # AND the real SDK can use it on the granted cache, and only there
    with cache_client(body["authToken"], sam_stack) as client:
        assert isinstance(client.set(CACHE, "greeting", "hello"), CacheSet.Success)
        hit = client.get(CACHE, "greeting")
        assert isinstance(hit, CacheGet.Hit)
        assert hit.value_string == "hello"
        denied = client.set(OTHER_CACHE, "greeting", "hello")
        assert isinstance(denied, CacheSet.Error)
        assert denied.error_code == MomentoErrorCode.PERMISSION_ERROR


def test_post_token_narrows_permissions_and_lifetime(api: str, sam_stack: LocalStack) -> None:
    request = {"permissions": [{"cache": CACHE, "role": "read_only"}], "ttlSeconds": 120}
    response = httpx.post(f"{api}/token", json=request, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["permissions"] == request["permissions"]
    assert body["expiresAt"] <= time.time() + 120 + 5
    with cache_client(body["authToken"], sam_stack) as client:
        assert isinstance(client.get(CACHE, "anything"), CacheGet.Hit | CacheGet.Miss)
        refused = client.set(CACHE, "k", "v")
        assert isinstance(refused, CacheSet.Error)
        assert refused.error_code == MomentoErrorCode.PERMISSION_ERROR


def test_asking_beyond_the_policy_is_forbidden(api: str) -> None:
    request = {"permissions": [{"cache": OTHER_CACHE, "role": "read_write"}]}
    response = httpx.post(f"{api}/token", json=request, timeout=60)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"
    assert "authToken" not in response.json()


def test_the_api_root_is_an_alias_and_name_labels_the_token(api: str) -> None:
    # Momento's TVM example web clients fetch the API root with ?name=
    response = httpx.get(f"{api}/?name=Taylor", timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["permissions"] == [{"cache": CACHE, "role": "read_write"}]
    assert body["tokenId"].endswith("/Taylor")
