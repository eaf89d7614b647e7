"""`make demo`: the whole product, locally, in a few seconds.

1. Starts the local stack: moto's Secrets Manager server and the local Momento server (127.0.0.1).
2. Stores a console-style master key (what a user downloads from the Momento console) in a secret.
3. Runs the rotator's Lambda handler (forced): refresh, store AWSPENDING, test, promote.
4. Serves the vendor's Lambda handler behind a local HTTP API front (JWT mode) and fetches a
   token with the app-side client `keyguard_client`, as an app would.
5. Uses the vended token with the real `momento` SDK: set and get an item under the caller's own
   key prefix, publish to the caller's topic; then shows that an item outside the grant is denied.

Nothing here prints a key, refresh token or vended token: only version ids, expiries and results.
`make local-api` runs the same vendor behind the real `sam local start-api` instead.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET_ID = "momento/master-key"
TENANT = "acme"
CACHE = f"tenant-{TENANT}"


def _say(step: str, text: str = "") -> None:
    print(f"\n== {step}" if not text else f"   {step}: {text}", flush=True)


def _versions(client: Any) -> dict[str, str]:
    """Stage -> VersionId of the product's stages (moto and AWS list them the same way)."""
    listed = client.list_secret_version_ids(SecretId=SECRET_ID)["Versions"]
    stages: dict[str, str] = {}
    for version in listed:
        for stage in version.get("VersionStages", []):
            if stage in {"AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"}:
                stages[stage] = version["VersionId"]
    return dict(sorted(stages.items()))


def _dev_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT for the local HTTP API front, which (like API Gateway's authorizer) reads its claims.

    In AWS the authorizer verifies the signature; the local front does not, so it only listens on
    loopback.
    """

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.demo"


def main() -> int:
    # Quiet, readable output: the functions' JSON logs and metrics go to a file, not the terminal.
    log_dir = ROOT / ".demo"
    log_dir.mkdir(exist_ok=True)
    os.environ.update(
        {
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "momento-key-guard-demo",
            "GRPC_VERBOSITY": "ERROR",
        }
    )
    from local.stack import LocalStack

    with LocalStack() as stack:
        _say("Local stack")
        _say("Secrets Manager (moto)", stack.secrets_manager_endpoint_url)
        _say("Momento (local, gRPC)", stack.momento_local_endpoint)
        _say("Momento API keys (local, HTTP)", str(stack.momento_api_keys_url))
        os.environ.update(stack.env())

        sm = stack.secretsmanager_client()
        master = stack.momento.mint_master_key()
        sm.create_secret(Name=SECRET_ID, SecretString=json.dumps(master.console_json()))
        stack.momento.create_cache(CACHE)
        _say("Stored the console's master key JSON (apiKey, refreshToken, validUntil)")
        _say("versions", json.dumps(_versions(sm)))

        _say("Rotate (forced), with the rotator's Lambda handler")
        os.environ["SECRET_IDS"] = SECRET_ID
        from local.api_gateway import LocalLambdaContext, serve
        from rotator.app import handler as rotate

        before = _versions(sm)
        started = time.perf_counter()
        report = rotate({"secret_id": SECRET_ID, "force": True}, LocalLambdaContext("RotatorFunction"))  # type: ignore[arg-type]
        elapsed_ms = (time.perf_counter() - started) * 1000
        after = _versions(sm)
        _say("result", json.dumps(report))
        _say("before", json.dumps(before))
        _say("after", json.dumps(after))
        _say("took", f"{elapsed_ms:.0f} ms (first call includes client start-up)")
        if after.get("AWSPREVIOUS") != before["AWSCURRENT"] or after["AWSCURRENT"] == before["AWSCURRENT"]:
            print("rotation did not promote a new version", file=sys.stderr)
            return 1

        _say("Vend a token through the HTTP API (JWT mode) with keyguard_client")
        policy = json.loads((ROOT / "events/vendor/policy.json").read_text())
        os.environ.update(
            {
                "SECRET_ID": SECRET_ID,
                "AUTH_MODE": "jwt",
                "VENDING_POLICY": json.dumps(policy),
                # Check the secret's version on every request so the demo shows rotation at once
                # (production default: at most one DescribeSecret per 30 s per container).
                "VERSION_CHECK_INTERVAL_SECONDS": "0",
            }
        )
        from vendor.app import handler as vend

        sys.path.insert(0, str(ROOT / "clients/python"))
        from keyguard_client import TokenVendingClient, VendingClientError

        user = str(uuid.uuid4())
        id_token = _dev_jwt({"sub": user, "tenant": TENANT, "cognito:groups": ["members"]})
        with serve(vend, auth_mode="jwt") as base_url:
            _say("endpoint", f"{base_url}/token")
            vending = TokenVendingClient(
                f"{base_url}/token", bearer_token=id_token, local_endpoint=stack.momento_local_endpoint
            )
            creds = vending.credentials()
            _say("granted", json.dumps(creds.permissions))
            _say("expires in", f"{creds.expires_at - time.time():.0f} s (token id = caller's sub)")
            second = TokenVendingClient(
                f"{base_url}/token", bearer_token=id_token, local_endpoint=stack.momento_local_endpoint
            ).credentials()
            reused = second.auth_token == creds.auth_token
            _say(
                "same caller asks again",
                "the same token, reused (no Momento call)" if reused else "a new token",
            )

            # One Momento token cannot mix key-prefix and topic grants (SDK 1.29.1 has no such
            # scope), so the app asks for its topic in a second, narrower request (POST).
            topic_vending = TokenVendingClient(
                f"{base_url}/token",
                bearer_token=id_token,
                permissions=[{"cache": CACHE, "topic": f"orders-{user}", "role": "publish_only"}],
                ttl_seconds=600,
                local_endpoint=stack.momento_local_endpoint,
            )
            _say("POST for the topic", json.dumps(topic_vending.credentials().permissions))
            _use_token(vending.credential_provider(), topic_vending.credential_provider(), user)

            outsider = _dev_jwt({"sub": str(uuid.uuid4()), "tenant": "other"})
            try:
                TokenVendingClient(
                    f"{base_url}/token",
                    bearer_token=outsider,
                    permissions=[{"cache": CACHE, "role": "read_write"}],
                ).credentials()
                _say("outsider asking for the whole cache", "GRANTED (unexpected)")
                return 1
            except VendingClientError as exc:
                _say("outsider asking for the whole cache", f"HTTP {exc.status} {exc.code}")

            _say("Rotate again while the vendor runs: it follows the new AWSCURRENT")
            rotate({"secret_id": SECRET_ID, "force": True}, LocalLambdaContext("RotatorFunction"))  # type: ignore[arg-type]
            _say("versions", json.dumps(_versions(sm)))
            newcomer = _dev_jwt({"sub": str(uuid.uuid4()), "tenant": TENANT, "cognito:groups": ["members"]})
            # The rotation just spent some of Momento's 5-per-second auth quota: back off as told.
            fresh = _backing_off(
                TokenVendingClient(
                    f"{base_url}/token", bearer_token=newcomer, local_endpoint=stack.momento_local_endpoint
                ).credentials
            )
            minted_by = stack.momento.credential(fresh.auth_token)
            current = json.loads(
                sm.get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")["SecretString"]
            )
            current_key = stack.momento.credential(current["apiKey"])
            same_parent = (
                minted_by is not None and current_key is not None and minted_by.parent == current_key.key_id
            )
            _say("next vend minted with", "the new AWSCURRENT key" if same_parent else "an older key")

    print("\nDemo finished: local stack stopped.")
    return 0


def _backing_off[R](fetch: Callable[[], R]) -> R:
    """Retry a vend answered 429/503, waiting as long as its Retry-After says (three tries)."""
    from keyguard_client import VendingClientError

    for attempt in range(3):
        try:
            return fetch()
        except VendingClientError as exc:
            if exc.status not in (429, 503) or attempt == 2:
                raise
            _say("vendor says", f"HTTP {exc.status} {exc.code}; retrying after {exc.retry_after or 1:.0f} s")
            time.sleep(exc.retry_after or 1)
    raise AssertionError("unreachable")


def _use_token(provider: Any, topic_provider: Any, user: str) -> None:
    from momento import CacheClient, Configurations, TopicClient, TopicConfigurations
    from momento.responses import CacheGet, CacheSet, TopicPublish

    _say("Use the vended token with the momento SDK")
    own_key = f"user-{user}-cart"
    with CacheClient.create(Configurations.Laptop.v1(), provider, timedelta(seconds=60)) as cache:
        stored = cache.set(CACHE, own_key, "3 items")
        _say(f"set {CACHE}/user-…-cart", "ok" if isinstance(stored, CacheSet.Success) else repr(stored))
        got = cache.get(CACHE, own_key)
        value = got.value_string if isinstance(got, CacheGet.Hit) else "miss/error"
        _say(f"get {CACHE}/user-…-cart", value)
        denied = cache.set(CACHE, "someone-elses-key", "x")
        code = denied.error_code.name if isinstance(denied, CacheSet.Error) else "ALLOWED (unexpected)"
        _say(f"set {CACHE}/someone-elses-key", f"denied: {code}")
        if not isinstance(denied, CacheSet.Error):
            raise SystemExit(1)
    with TopicClient(TopicConfigurations.Default.latest(), topic_provider) as topics:
        published = topics.publish(CACHE, f"orders-{user}", "order 42 shipped")
        _say("publish orders-<sub>", "ok" if isinstance(published, TopicPublish.Success) else repr(published))


if __name__ == "__main__":
    raise SystemExit(main())
