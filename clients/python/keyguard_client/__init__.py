"""keyguard_client: fetch Momento disposable tokens from a KeyGuard vendor and keep them fresh."""

from .client import TokenVendingClient, VendedCredentials, VendingClientError

__all__ = ["TokenVendingClient", "VendedCredentials", "VendingClientError"]
