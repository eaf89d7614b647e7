"""`keyguard rotate [--force]`: one rotation through the rotator itself, never a copy of it.

Against AWS the deployed RotatorFunction is invoked with its direct event
(`{"secret_id": ..., "force": ...}`), so the rotation runs with the function's role, settings
and reserved concurrency of one, exactly like a scheduled run. With `--local` the same request
goes through `rotator.invocation.handle` in this process (what the handler calls).
"""

from __future__ import annotations

import json
from typing import Any

from rotator.events import DirectRequest
from rotator.invocation import Dependencies, handle
from shared.errors import KeyGuardError, RotationFailedError


def rotate_here(deps: Dependencies, secret_id: str, force: bool) -> dict[str, Any]:
    """The rotator's own invocation path, in process; failures are in the result, not raised."""
    report = handle(DirectRequest(secret_id=secret_id, force=force), deps)
    (result,) = report.results
    return result.log_fields()


def rotate_remote(lambda_client: Any, function: str, secret_id: str, force: bool) -> dict[str, Any]:
    """Invoke the deployed rotator synchronously; its error (already key-free) is reported."""
    response = lambda_client.invoke(
        FunctionName=function,
        InvocationType="RequestResponse",
        Payload=json.dumps({"secret_id": secret_id, "force": force}).encode(),
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        kind = payload.get("errorType") if isinstance(payload, dict) else None
        return {
            "secret_id": secret_id,
            "outcome": "failed",
            "error_code": RotationFailedError.code,
            "error": f"{kind or 'error'}: {message or 'the rotator failed; see its logs'}",
        }
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
        raise KeyGuardError(f"the rotator {function!r} returned an unexpected answer")
    result: dict[str, Any] = results[0]
    return result
