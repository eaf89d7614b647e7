"""`keyguard rotate` against AWS invokes the deployed RotatorFunction with its direct event.

moto's Lambda needs a Docker engine to run a function, so the invoke is answered by botocore's
Stubber with the payloads the real handler returns (`rotator.app`: `{"results": [...]}`, or
Lambda's error shape when the handler raised); the event sent is checked against the rotator's
own parser.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from keyguard_cli.rotate import rotate_remote
from rotator.events import DirectRequest, parse_event


def _payload(document: Any) -> StreamingBody:
    data = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def test_the_invoke_sends_the_direct_event_and_reads_both_answers() -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    events = [{"secret_id": "s", "force": True}, {"secret_id": "s", "force": False}]
    expected = [
        {"FunctionName": "fn", "InvocationType": "RequestResponse", "Payload": json.dumps(e).encode()}
        for e in events
    ]
    result = {"secret_id": "s", "outcome": "rotated", "reason": "forced", "strategy": "v2"}
    error = {"errorType": "RotationFailedError", "errorMessage": "1 of 1 secret(s) failed: s: no roleId"}
    with Stubber(client) as stub:
        stub.add_response(
            "invoke", {"StatusCode": 200, "Payload": _payload({"results": [result]})}, expected[0]
        )
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _payload(error)},
            expected[1],
        )
        assert rotate_remote(client, "fn", "s", True) == result
        failed = rotate_remote(client, "fn", "s", False)
    assert failed["outcome"] == "failed"
    assert failed["error"] == "RotationFailedError: 1 of 1 secret(s) failed: s: no roleId"
    # the events sent are what the rotator's own parser reads as direct rotations
    assert [parse_event(event) for event in events] == [
        DirectRequest(secret_id="s", force=True),
        DirectRequest(secret_id="s", force=False),
    ]
