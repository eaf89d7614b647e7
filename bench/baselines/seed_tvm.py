"""Baseline: seed 001's token vending machine, ported to Python as the article writes it.

`/work/shared/seeds/001_*` ("Token Vending Machine Code Explained"): the Momento clients are
built once per container after ONE GetSecretValue; each request looks up `{ip}-token` in the
`pizza` cache (a Momento cache get on every request), returns the stored body on a hit, and on a
miss mints a one-hour subscribe-only token and stores it with the client's 55-minute default TTL.
No policy, no audit line, no metrics: the seed has none. Only what the article shows is ported;
the JS SDK's `generateAuthToken` is the Python SDK's `generate_disposable_token`.
"""

from __future__ import annotations

import json
import warnings
from datetime import timedelta
from typing import Any

import boto3
from momento import AuthClient, CacheClient, Configurations
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.auth.access_control.permission_scope import AllTopics
from momento.config.auth_configurations import AuthConfigurations
from momento.responses import CacheGet
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento.utilities import ExpiresIn

from local.momento.sdk import credential_provider_for_address

CACHE = "pizza"
DEFAULT_TTL = timedelta(minutes=55)


class SeedTvm:
    """`initializeMomento` + `handler` of the seed; `local_endpoint` stands in for Momento's cell."""

    def __init__(self, secret_id: str, secrets_manager_endpoint: str, local_endpoint: str) -> None:
        secrets = boto3.client("secretsmanager", endpoint_url=secrets_manager_endpoint)
        secret = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            provider = credential_provider_for_address(secret["apiKey"], local_endpoint)
        self.cache = CacheClient(Configurations.Lambda.latest(), provider, DEFAULT_TTL)
        self.auth = AuthClient(AuthConfigurations.Lambda.latest(), provider)
        self.scope = DisposableTokenScopes.topic_subscribe_only(CACHE, AllTopics())

    def handler(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            ip = event["requestContext"]["http"]["sourceIp"]
            cached = self.cache.get(CACHE, f"{ip}-token")
            if isinstance(cached, CacheGet.Hit):
                return {
                    "statusCode": 200,
                    "body": cached.value_string,
                    "headers": {"Access-Control-Allow-Origin": "*"},
                }
            token = self.auth.generate_disposable_token(self.scope, ExpiresIn.hours(1))
            if not isinstance(token, GenerateDisposableToken.Success):
                raise RuntimeError("Unable to create auth token")
            body = json.dumps({"token": token.auth_token, "exp": token.expires_at.epoch()})
            self.cache.set(CACHE, f"{ip}-token", body)
            return {"statusCode": 200, "body": body, "headers": {"Access-Control-Allow-Origin": "*"}}
        except Exception:
            return {
                "statusCode": 500,
                "body": json.dumps({"message": "Something went wrong"}),
                "headers": {"Access-Control-Allow-Origin": "*"},
            }

    def close(self) -> None:
        self.auth.close()
        self.cache.__exit__(None, None, None)
