"""What the rotator tests share: the wired local stack, its clock, and the log-leak check."""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from mypy_boto3_secretsmanager import SecretsManagerClient

from local.momento.server import MintedV1Key, MintedV2Key, MomentoLocalServer
from local.stack import LocalStack
from rotator.engine import Rotation
from rotator.invocation import Dependencies
from rotator.secret_store import SecretStore
from rotator.settings import RotatorSettings
from shared.config import CommonSettings
from shared.momento_access import MomentoAccess

SECRET_ID = "momento/master-key"


class ServerClock:
    """The Momento server's clock; moves made by a test are undone after it."""

    def __init__(self, server: MomentoLocalServer) -> None:
        self._server = server
        self.moved = 0.0

    def __call__(self) -> float:
        return self._server.clock.now()

    def advance(self, seconds: float) -> None:
        self._server.clock.advance(seconds)
        self.moved += seconds


@dataclass
class RotatorStack:
    """Everything a rotator test needs, wired to the session's local stack."""

    stack: LocalStack
    clock: ServerClock
    account: str
    common: CommonSettings
    momento: MomentoAccess

    @property
    def server(self) -> MomentoLocalServer:
        return self.stack.momento

    def client(self) -> SecretsManagerClient:
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.stack.secrets_manager_endpoint_url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def settings(self, **overrides: Any) -> RotatorSettings:
        env = {
            "SECRET_IDS": SECRET_ID,
            "SECRETS_MANAGER_ENDPOINT_URL": self.stack.secrets_manager_endpoint_url,
            "MOMENTO_LOCAL_ENDPOINT": self.stack.momento_local_endpoint,
            "MOMENTO_API_KEYS_URL": self.stack.momento_api_keys_url or "",
            "MOMENTO_TIMEOUT_SECONDS": "2",
        }
        env.update({name.upper(): str(value) for name, value in overrides.items()})
        return RotatorSettings.read(env)

    def mint_v1(self, valid_for_seconds: int | None = 30 * 86400, *, super_user: bool = True) -> MintedV1Key:
        return self.server.mint_master_key(self.account, valid_for_seconds, super_user=super_user)

    def mint_v2(self, expires_in: int | None = 30 * 86400) -> MintedV2Key:
        expires_at = None if expires_in is None else int(self.clock()) + expires_in
        return self.server.mint_v2_key(self.account, role_id="owner", expires_at=expires_at)

    def create_v2_secret(self, *, key_id: bool = True) -> dict[str, Any]:
        """A 30-day owner v2 key stored in the console's shape (`keyId` optional); returns the document."""
        minted = self.mint_v2(30 * 86400)
        document: dict[str, Any] = {
            "apiKey": minted.api_key,
            "endpoint": minted.endpoint,
            "validUntil": minted.expires_at,
            "roleId": minted.role_id,
        }
        if key_id:
            document["keyId"] = minted.key_id
        self.create_secret(document)
        return document

    def create_secret(self, value: str | dict[str, Any], name: str = SECRET_ID) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return self.client().create_secret(Name=name, SecretString=text)["VersionId"]

    def deps(self, momento: MomentoAccess | None = None, **settings: Any) -> Dependencies:
        return Dependencies(
            settings=self.settings(**settings),
            secrets_client=self.client(),
            momento=momento or self.momento,
            clock=self.clock,
            sleep=lambda _seconds: None,
        )

    def rotation(
        self,
        secret_id: str = SECRET_ID,
        momento: MomentoAccess | None = None,
        client: SecretsManagerClient | None = None,
        **settings: Any,
    ) -> Rotation:
        store = SecretStore(client or self.client(), secret_id, sleep=lambda _seconds: None)
        return Rotation(store, momento or self.momento, self.settings(**settings), self.clock)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.lines.append(repr(record.__dict__))
        if record.exc_info and record.exc_info[1] is not None:
            self.lines.append(repr(record.exc_info[1]))


def stored_material(server: MomentoLocalServer) -> set[str]:
    """Every key and refresh token in moto's Secrets Manager and every one the Momento server issued."""
    from moto.backends import get_backend

    found: set[str] = set()
    for regions in get_backend("secretsmanager").values():
        for backend in regions.values():
            for secret in backend.secrets.values():
                for version in getattr(secret, "versions", {}).values():
                    text = version.get("secret_string")
                    if not text:
                        continue
                    try:
                        document = json.loads(text)
                    except ValueError:
                        found.add(text)
                        continue
                    if isinstance(document, dict):
                        for name in ("momento", "authToken", "apiKey", "refreshToken"):
                            value = document.get(name)
                            if isinstance(value, str):
                                found.add(value)
    # The server's own records (test-double internals): includes keys a crashed run never stored.
    credentials = server.state.credentials
    found.update(getattr(credentials, "_by_key", {}))
    found.update(getattr(credentials, "_refresh", {}))
    return found


#: Runs of base64 long enough to wrap a key: refreshed v1 keys and disposable tokens travel as
#: base64 of JSON `{"endpoint", "api_key"}`, where the JWT inside does not appear verbatim.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")


def _decoded_base64(text: str) -> str:
    """Every base64 run of `text` that decodes to text, so wrapped keys are scanned as well."""
    decoded: list[str] = []
    for run in _BASE64_RUN.findall(text):
        padded = run + "=" * (-len(run) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded.append(decode(padded).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            break
    return "\n".join(decoded)


def leaks(text: str, material: set[str]) -> list[str]:
    """The (abbreviated) secrets of `material` that occur in `text`, whole or as a JWT signature,
    also inside base64 wrappings (a disposable token or refreshed key as apps and the SDK see it)."""
    text = text + "\n" + _decoded_base64(text)
    found: list[str] = []
    for secret in material:
        if len(secret) < 16:
            continue
        pieces = [secret] + [part for part in secret.split(".")[2:] if len(part) >= 16]
        if any(piece in text for piece in pieces):
            found.append(secret[:6] + "...")
    return found
