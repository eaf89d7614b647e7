"""Fixtures for the SAM tests: the real SAM CLI, a Docker engine, the offline Lambda image.

Nothing here skips. A missing engine or image fails the session with the command that fixes
it (`make engine`, `make lambda-image`; `make test` runs both first), in CI and locally alike.

One `sam build` (into a temporary directory) and one local stack serve the whole session.
The stack listens on 127.0.0.1 and on the Docker bridge gateway; functions in containers are
pointed at the bridge address through `--env-vars` files (`sam_env_vars`).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local import sam_local
from tests.sam.helpers import SeedSecret, WriteEnvVars

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from local.stack import LocalStack


@pytest.fixture(scope="session")
def sam_ready() -> None:
    try:
        sam_local.require_engine_and_image()
    except sam_local.SamLocalError as exc:
        pytest.fail(f"the SAM tests need Docker and the Lambda image: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def bridge_host(sam_ready: None) -> str:
    return sam_local.bridge_gateway()


@pytest.fixture(scope="session")
def built_template(sam_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    images_before = sam_local.sam_layer_images()
    yield sam_local.sam_build(tmp_path_factory.mktemp("sam-build") / "build")
    # SAM builds an image with this session's layer for every as-shipped run; drop them.
    sam_local.remove_images(sam_local.sam_layer_images() - images_before)


@pytest.fixture(scope="session")
def baked(built_template: Path) -> Iterator[tuple[Path, str]]:
    """(layerless template, image with the layer at /opt): see `sam_local.layer_baked_into_image`."""
    with sam_local.layer_baked_into_image(built_template, uuid.uuid4().hex[:12]) as baked:
        yield baked


@pytest.fixture
def invoke(
    built_template: Path, baked: tuple[Path, str], sam_stack: LocalStack
) -> Callable[..., sam_local.Invocation]:
    """`invoke(function, event, env_vars, as_shipped=False)`: one `sam local invoke`.

    By default the layer is baked into the image (fast); `as_shipped=True` runs the built
    template itself, with SAM adding the layer the way it does for users.
    """

    def run(function: str, event: Path, env_vars: Path, *, as_shipped: bool = False) -> sam_local.Invocation:
        template, image = (built_template, None) if as_shipped else baked
        return sam_local.invoke(
            template, function, event, env_vars, invoke_image=image, environ=sam_local.sts_override(sam_stack)
        )

    return run


@pytest.fixture(scope="session")
def sam_stack(bridge_host: str) -> Iterator[LocalStack]:
    from local.stack import LocalStack

    with LocalStack(("127.0.0.1", bridge_host)) as stack:
        yield stack


@pytest.fixture
def sm(sam_stack: LocalStack) -> SecretsManagerClient:
    return sam_stack.secretsmanager_client()


@pytest.fixture
def seed_secret(sam_stack: LocalStack, sm: SecretsManagerClient) -> Iterator[SeedSecret]:
    """Create (or replace) a secret holding a fresh console-style master key; returns its ARN."""
    created: list[str] = []

    def seed(name: str | None = None, valid_for_seconds: int = 30 * 86400) -> str:
        name = name or f"sam-test/{uuid.uuid4()}"
        _delete_if_present(sm, name)
        master = sam_stack.momento.mint_master_key(valid_for_seconds=valid_for_seconds)
        arn = sm.create_secret(Name=name, SecretString=json.dumps(master.console_json()))["ARN"]
        created.append(arn)
        return arn

    yield seed
    for arn in created:
        _delete_if_present(sm, arn)


def _delete_if_present(sm: SecretsManagerClient, secret_id: str) -> None:
    with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
        sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def sam_env_vars(sam_stack: LocalStack, bridge_host: str, tmp_path: Path) -> WriteEnvVars:
    """Write an `--env-vars` file: the stack's addresses on the bridge plus per-function values."""

    def write(functions: Mapping[str, Mapping[str, str]]) -> Path:
        shared = sam_local.stack_variables(sam_stack, bridge_host)
        path = tmp_path / f"env-{uuid.uuid4().hex[:8]}.json"
        return sam_local.write_env_vars(path, {fn: {**shared, **values} for fn, values in functions.items()})

    return write
