"""Baseline: the naive handler, everything imported and built at module load.

The same product handler (`vendor.app.handler`), but the way a first Lambda usually looks: every
library the function can ever use is imported at the top (boto3, the Momento SDK, grpc, the X-Ray
SDK behind Powertools' Tracer), and settings, clients, the policy and the master key are built
and loaded while the module imports. `bench/cold_start.py` times a fresh interpreter importing
this module and serving one request, against the product's own handler module.
"""

from __future__ import annotations

from typing import Any

import aws_xray_sdk.core  # noqa: F401  (what Tracer() imports even when tracing is disabled)
import boto3  # noqa: F401
import grpc  # noqa: F401
import momento  # noqa: F401
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # noqa: F401

import shared.momento_access  # noqa: F401
import vendor.app
import vendor.wiring

vendor.app._application()  # settings, boto3 client, SDK access, policy: all at import


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return vendor.app.handler(event, context)
