"""Outages answer 503 with Retry-After, never 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from shared.momento_access import SdkMomentoAccess
from tests.vendor.conftest import Built, VendorStack, load_event
from vendor.app import build_app
from vendor.settings import VendorSettings
from vendor.wiring import build_vendor

pytestmark = pytest.mark.integration

#: moto servers in one process share their state: a name of its own.
OUTAGE_SECRET = "momento/outage-test"


@pytest.fixture
def own_moto() -> Iterator[ThreadedMotoServer]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server
    server.stop()


def test_momento_refusing_the_key_while_secrets_manager_is_down_is_503(
    vendor_stack: VendorStack, own_moto: ThreadedMotoServer
) -> None:
    host, port = own_moto.get_host_and_port()
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    master = vendor_stack.momento.mint_master_key()
    sm.create_secret(Name=OUTAGE_SECRET, SecretString=json.dumps(master.console_json()))
    settings = VendorSettings.from_environ(vendor_stack.env(SECRET_ID=OUTAGE_SECRET))
    access = SdkMomentoAccess(settings.common)
    try:
        vendor = build_vendor(settings, access=access, secrets_manager=sm)
        app = Built(build_app(settings, vendor), vendor, access, settings)
        assert app.invoke(load_event("get-token-jwt.json"))["statusCode"] == 200
        credential: Any = vendor_stack.momento.credential(master.api_key)
        credential.revoked_at = vendor_stack.momento.clock.now()  # Momento now refuses the cached key
        own_moto.stop()  # ... and Secrets Manager is down
        response = app.invoke(load_event("post-token-jwt.json"))
    finally:
        access.close()
    assert response["statusCode"] == 503, response["body"]
    assert response["headers"]["Retry-After"]
    assert json.loads(response["body"])["error"] == "secret_store_unavailable"
