"""A local Momento-compatible server for development and tests (never deployed).

The unmodified `momento` Python SDK talks to it over plaintext gRPC; see README.md.
"""

from local.momento.server import MomentoLocalServer, ServerConfig

__all__ = ["MomentoLocalServer", "ServerConfig"]
