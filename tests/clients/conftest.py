"""The Python client is not installed as a package: apps copy it, tests put it on the path."""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT_ROOT = str(Path(__file__).parents[2] / "clients" / "python")
if CLIENT_ROOT not in sys.path:
    sys.path.insert(0, CLIENT_ROOT)

from tests.vendor.conftest import vendor_stack  # noqa: E402 (re-exported fixture)

__all__ = ["vendor_stack"]
