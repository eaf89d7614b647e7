"""`python -m keyguard_cli` and the `keyguard` console script."""

from __future__ import annotations

import sys

from keyguard_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
