"""Secrets Manager states that moto's API cannot produce, set up in its in-process backend.

AWS's RotateSecret stages the ClientRequestToken as a valueless AWSPENDING version and then
calls the rotation Lambda's four steps. moto 5.x cannot reproduce that state: without a
rotation Lambda ARN it moves AWSCURRENT onto the valueless version at once, and with one it
invokes moto's Lambda backend and then makes the token AWSCURRENT whatever the Lambda did.
So tests that drive the native steps stage the token here, the way AWS leaves it before
createSecret, and then invoke the steps themselves.
"""

from __future__ import annotations

import time
from typing import Any

from moto.backends import get_backend


def stage_rotation_token(secret_id: str, token: str, *, region: str = "us-east-1") -> None:
    backend = get_backend("secretsmanager")["123456789012"][region]
    secret: Any = backend.secrets[secret_id]
    for version in secret.versions.values():
        if "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    # moto quirk: RotationEnabled reads true only with AutomaticallyAfterDays set.
    secret.auto_rotate_after_days = 1
    secret.rotation_enabled = True
    secret.rotation_requested = True
    secret.rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:rotator"
