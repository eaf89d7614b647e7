"""Small helpers shared by the SAM tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local import sam_local

EVENTS = sam_local.REPO / "events"

#: `seed_secret(name=None, valid_for_seconds=...)` -> the new secret's ARN.
SeedSecret = Callable[..., str]
#: `sam_env_vars({"LogicalId": {"NAME": "value"}})` -> path of an `--env-vars` file.
WriteEnvVars = Callable[[Mapping[str, Mapping[str, str]]], Path]
#: `invoke(function, event, env_vars, as_shipped=False)` -> the invocation's result.
Invoke = Callable[..., sam_local.Invocation]


def load_event(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event
