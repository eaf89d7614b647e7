"""Example app: get a token from the vendor, set and get an item, publish, then try something denied.

    PYTHONPATH=clients/python python clients/python/examples/cache_and_topic.py \\
        --url http://127.0.0.1:3000/token --bearer "$ID_TOKEN" \\
        --cache tenant-acme --key "user-$SUB-cart" --denied-key shared-notice \\
        [--topic "orders-$SUB"] [--local-endpoint 127.0.0.1:PORT]

Prints one line per operation and never the token. With `--topic` it asks the vendor for a
topic token in a second request, since one Momento token cannot hold key-level and topic grants.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from keyguard_client import TokenVendingClient
from momento import CacheClient, Configurations, TopicClient, TopicConfigurations
from momento.responses import CacheGet


def _outcome(response: object) -> str:
    code = getattr(response, "error_code", None)
    return "ok" if code is None else f"refused ({getattr(code, 'name', code)})"


def run(argv: Sequence[str] | None = None) -> list[str]:
    """Run the example; returns the printed lines (tests read them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bearer")
    parser.add_argument("--cache", required=True)
    parser.add_argument("--key", required=True, help="a key the caller may write")
    parser.add_argument("--denied-key", required=True, help="a key the caller may not write")
    parser.add_argument("--topic", help="a topic the caller may publish to")
    parser.add_argument("--local-endpoint", help="host:port of a local Momento server (development)")
    args = parser.parse_args(argv)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    vending = TokenVendingClient(
        args.url,
        bearer_token=args.bearer,
        permissions=[{"cache": args.cache, "key": args.key, "role": "read_write"}],
        local_endpoint=args.local_endpoint,
    )
    creds = vending.credentials()
    say(f"token for {creds.token_id}: expires at {creds.expires_at}, permissions {list(creds.permissions)}")
    provider = vending.credential_provider()
    with CacheClient.create(Configurations.Laptop.latest(), provider, timedelta(seconds=60)) as cache:
        set_response = cache.set(args.cache, args.key, "hello from keyguard")
        say(f"set {args.cache}/{args.key}: {_outcome(set_response)}")
        got = cache.get(args.cache, args.key)
        value = got.value_string if isinstance(got, CacheGet.Hit) else None
        say(f"get {args.cache}/{args.key}: {_outcome(got)} -> {value!r}")
        denied = cache.set(args.cache, args.denied_key, "should not land")
        say(f"set {args.cache}/{args.denied_key}: {_outcome(denied)}")
    if args.topic:
        topics = TokenVendingClient(
            args.url,
            bearer_token=args.bearer,
            permissions=[{"cache": args.cache, "topic": args.topic, "role": "publish_only"}],
            local_endpoint=args.local_endpoint,
        )
        topic_client = TopicClient(TopicConfigurations.Default.latest(), topics.credential_provider())
        try:
            published = topic_client.publish(args.cache, args.topic, "order placed")
            say(f"publish {args.cache}/{args.topic}: {_outcome(published)}")
        finally:
            topic_client.close()
    return lines


if __name__ == "__main__":
    run(sys.argv[1:])
