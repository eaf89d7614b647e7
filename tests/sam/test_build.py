"""What `sam build` and `local/lambda-image/build.sh` produce, checked from the outside.

- The template lints clean (`sam validate --lint`, warnings included).
- The makefile builds keep package names: the layer holds `python/shared/` (sources only) and
  the runtime dependencies, each function folder holds its own package.
- The offline Lambda image has the interpreter, the C libraries CPython's extension modules
  load, and the runtime interface client.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from local import sam_local

pytestmark = pytest.mark.sam


def test_template_lints_clean() -> None:
    result = subprocess.run(
        [str(sam_local.SAM), "validate", "--lint", "--template", str(sam_local.TEMPLATE)],
        cwd=sam_local.REPO,
        env=sam_local.sam_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_layer_keeps_the_shared_package_and_ships_the_dependencies(built_template: Path) -> None:
    python = built_template.parent / "SharedLayer" / "python"
    shared = python / "shared"
    sources = {p.name for p in (sam_local.REPO / "shared").glob("*.py")}
    assert sources <= {p.name for p in shared.glob("*.py")}
    shipped = {p.name for p in shared.iterdir() if p.is_file()}
    assert not shipped & {"Makefile", "requirements.txt"}, shipped
    assert not (shared / "tests").exists()
    for dependency in ("momento", "boto3", "aws_lambda_powertools", "aws_xray_sdk", "grpc"):
        assert (python / dependency / "__init__.py").exists(), dependency
    # bytecode for the runtime's Python, checked by hash (zip archives round file times)
    assert list((shared / "__pycache__").glob("config.cpython-312.pyc"))


@pytest.mark.parametrize(
    ("function", "package"), [("RotatorFunction", "rotator"), ("VendorFunction", "vendor")]
)
def test_functions_keep_their_package_name(built_template: Path, function: str, package: str) -> None:
    folder = built_template.parent / function
    assert (folder / package / "app.py").exists()
    assert {p.name for p in folder.iterdir()} == {package}
    assert not (folder / package / "Makefile").exists()


def test_lambda_image_runs_python_312_with_its_native_modules(sam_ready: None) -> None:
    probe = (
        "import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal, awslambdaric, boto3;"
        "print(sys.version_info[:2] == (3, 12), sys.prefix)"
    )
    # /var/runtime is on the path the runtime bootstrap sets (local/lambda-image/bootstrap)
    python = ["--env", "PYTHONPATH=/var/runtime", "--entrypoint", "/var/lang/bin/python3.12"]
    result = subprocess.run(
        ["docker", "run", "--rm", *python, sam_local.LAMBDA_IMAGE, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "/var/lang"]
