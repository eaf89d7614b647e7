"""The master key's version hint: which Secrets Manager version is AWSCURRENT, kept in Momento.

The rotator writes it right after a promotion; vendors read it every few seconds (one Momento
cache get, no Secrets Manager call) and download the secret only when it names a version they do
not hold. Secrets Manager bills DescribeSecret like GetSecretValue, so polling it to notice a
rotation costs one call per interval per container; the hint costs one call per rotation.

The item lives in the shared token cache (`SHARED_TOKEN_CACHE_NAME`), which no policy may grant;
a broad Momento credential of the account can still write it (its name is not keyed: the rotator
does not hold the token cache key), so vendors treat it as a hint only: an odd value is no hint,
it downloads at most once per version-check interval and slows the poll only when it agrees with
the version held (`vendor.master_key`, outside findings F4/F5). Its name is derived from the
secret's ARN (which GetSecretValue and DescribeSecret both return), so a vendor configured with
the secret's name and a rotator with its ARN still agree. A wrong or missing hint costs at most a
GetSecretValue per version-check interval: vendors keep a DescribeSecret poll and re-read when
Momento refuses their key.
"""

from __future__ import annotations

import hashlib

#: The hint outlives any sane check interval; a vendor that finds none re-publishes what it read.
HINT_TTL_SECONDS = 24 * 3600


def hint_item_key(secret_arn: str) -> str:
    """The cache item holding the AWSCURRENT VersionId of the secret with this ARN."""
    return "keyguard-master-key-version-" + hashlib.sha256(secret_arn.encode()).hexdigest()[:40]
