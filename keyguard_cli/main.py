"""Argument parsing, client wiring, output and exit codes of `keyguard`.

Exit codes: 0 done (or nothing wrong found), 1 a problem was found or refused (a failed
rotation, a broken policy, a refused rollback, a refused vend), 2 bad usage. Errors are
printed as `error: <code>: <message>` (with `--json`: `{"error", "message"}`); messages come
from the product's typed errors, which never carry key material.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from keyguard_cli import render
from keyguard_cli.context import Context
from shared.errors import ConfigError, KeyGuardError


def _common(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--json", action="store_true", default=default, help="machine-readable output")
    parser.add_argument(
        "--local", action="store_true", default=default, help="use the local stack's endpoints"
    )
    parser.add_argument("--region", default=default, help="AWS region (default: the boto3 configuration)")
    parser.add_argument("--profile", default=default, help="AWS profile")
    parser.add_argument(
        "--stack", default=default, help="CloudFormation stack: secrets and functions from its outputs"
    )


def _ttl(text: str) -> int:
    """MAX_TOKEN_TTL_SECONDS as the vendor accepts it (vendor/settings.py)."""
    from vendor.settings import MOMENTO_MAX_TOKEN_TTL_SECONDS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 60 <= value <= MOMENTO_MAX_TOKEN_TTL_SECONDS:
        raise argparse.ArgumentTypeError(f"must be within 60..{MOMENTO_MAX_TOKEN_TTL_SECONDS}, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keyguard", description="See and steer the Momento master key's life (momento-key-guard)."
    )
    _common(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)
    _common(shared, argparse.SUPPRESS)

    status = sub.add_parser(
        "status", parents=[shared], help="per secret: key, versions, claim, revokes, orphans"
    )
    status.add_argument("secrets", nargs="*", metavar="SECRET_ID")
    status.add_argument("--no-orphans", action="store_true", help="do not list the account's v2 keys")
    status.add_argument(
        "--no-metrics", action="store_true", help="do not read the rotator's CloudWatch metrics"
    )
    status.add_argument(
        "--check-key", action="store_true", help="prove the current key works (mints a one-minute token)"
    )
    status.add_argument("--function", help="rotator function whose settings (lease, grace) to use")

    rotate = sub.add_parser("rotate", parents=[shared], help="run one rotation through the rotator")
    rotate.add_argument("secrets", nargs="*", metavar="SECRET_ID")
    rotate.add_argument("--force", action="store_true", help="rotate even when the key is not due")
    rotate.add_argument("--function", help="the RotatorFunction (default: the --stack output)")

    rollback = sub.add_parser("rollback", parents=[shared], help="make AWSPREVIOUS current again, safely")
    rollback.add_argument("secret", metavar="SECRET_ID")
    rollback.add_argument("--yes", action="store_true", help="do it (without: report the plan only)")
    rollback.add_argument("--function", help="rotator function whose settings (lease, grace) to use")

    policy = sub.add_parser("policy", parents=[shared], help="vending policy tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser("check", parents=[shared], help="report every problem and sample grants")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--as", dest="identities", action="append", default=[], metavar="CLAIMS.json")
    check.add_argument("--max-ttl", type=_ttl, default=3600, help="MAX_TOKEN_TTL_SECONDS (default 3600)")
    check.add_argument("--shared-token-cache", default=None, help="SHARED_TOKEN_CACHE_NAME, if any")
    check.add_argument("--auth-mode", default="jwt", choices=("jwt", "lambda", "iam"))
    check.add_argument("--groups-claim", default="cognito:groups")

    vend = sub.add_parser("vend", parents=[shared], help="ask the vendor for a token as a given caller")
    vend.add_argument("--as", dest="claims", required=True, metavar="CLAIMS.json")
    vend.add_argument("--request", metavar="BODY.json", help="POST this body (default: GET)")
    vend.add_argument("--url", help="a local front's URL (with --local)")
    vend.add_argument("--function", help="the VendorFunction (default: the --stack output)")
    return parser


def _rotator_environ(ctx: Context, function: str | None) -> dict[str, str]:
    """The rotator's environment: the deployed function's when known, over this shell's."""
    environ = dict(ctx.environ)
    name = function or (ctx.stack_outputs().get("RotatorFunctionArn") if ctx.stack_name else None)
    if name and not ctx.local:
        try:
            config = ctx.client("lambda").get_function_configuration(FunctionName=name)
        except (ClientError, BotoCoreError) as exc:
            # Status and rollback still work with the defaults; say which numbers may differ.
            print(
                f"note: cannot read the rotator's settings from {name} ({_failure(exc)[1]}); "
                "claim lease and revoke grace are the defaults or this shell's",
                file=sys.stderr,
            )
            config = {}
        deployed = config.get("Environment", {}).get("Variables", {})
        environ.update({k: v for k, v in deployed.items() if k not in {"SECRETS_MANAGER_ENDPOINT_URL"}})
    return environ


def _rotator_settings(ctx: Context, function: str | None, environ: dict[str, str] | None = None) -> Any:
    """The rotator's settings, read by the rotator's own settings code."""
    from rotator.settings import RotatorSettings

    environ = dict(_rotator_environ(ctx, function) if environ is None else environ)
    environ.setdefault("SECRET_IDS", "unused")
    return RotatorSettings.read(environ)


def _store(ctx: Context, secret_id: str) -> Any:
    from rotator.secret_store import SecretStore

    return SecretStore(ctx.client("secretsmanager"), secret_id, max_attempts=3)


def _momento(ctx: Context) -> Any:
    from shared.momento_access import SdkMomentoAccess

    return SdkMomentoAccess(ctx.common)


def _located(ctx: Context, exc: KeyGuardError) -> str:
    """The error's message, naming the region when a wrong one is the likely cause."""
    from shared.errors import SecretNotFoundError, SecretStoreError

    if isinstance(exc, SecretNotFoundError | SecretStoreError):
        return f"{exc} [{ctx.where()}; check --region / --profile]"
    return str(exc)


def _cmd_status(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from keyguard_cli.status import read_status

    rotator_environ = _rotator_environ(ctx, args.function)
    settings = _rotator_settings(ctx, args.function, rotator_environ)
    momento = _momento(ctx)

    def lister(secret: Any) -> list[tuple[str, str]]:
        return [(key.key_id, key.description) for key in momento.list_v2_keys(secret.master_key())]

    reports = []
    ok = True
    try:
        for secret_id in ctx.secret_ids(args.secrets):
            try:
                report = read_status(
                    _store(ctx, secret_id),
                    settings,
                    ctx.clock(),
                    None if args.no_orphans else lister,
                    momento if args.check_key else None,
                )
            except KeyGuardError as exc:
                report = {"secret_id": secret_id, "error": exc.code, "message": _located(ctx, exc)}
            except (BotoCoreError, ClientError, ValueError) as exc:
                # One odd secret must not hide the others' state.
                code, message = _failure(exc)
                report = {"secret_id": secret_id, "error": code, "message": message}
            ok = ok and not report.get("error") and not report.get("problems")
            reports.append(report)
    finally:
        momento.close()
    answer: dict[str, Any] = {"secrets": reports}
    if not args.no_metrics:
        answer["rotator_metrics"] = _recent(ctx, rotator_environ)
    return answer, ok


def _recent(ctx: Context, environ: dict[str, str]) -> dict[str, Any]:
    """The rotator's outcomes over the last week (CloudWatch); an error is reported, not raised."""
    from keyguard_cli.metrics import recent_outcomes

    namespace = environ.get("POWERTOOLS_METRICS_NAMESPACE") or "MomentoKeyGuard"
    service = environ.get("POWERTOOLS_SERVICE_NAME") or "keyguard-rotator"
    try:
        outcomes = recent_outcomes(ctx.client("cloudwatch"), namespace, service, ctx.clock())
    except (ClientError, BotoCoreError, KeyGuardError) as exc:
        return {"namespace": namespace, "service": service, "error": _failure(exc)[1]}
    return {"namespace": namespace, "service": service, "days": 7, "outcomes": outcomes}


def _cmd_rotate(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from keyguard_cli.rotate import rotate_here, rotate_remote

    results = []
    secret_ids = ctx.secret_ids(args.secrets)
    if ctx.local:
        from rotator.invocation import Dependencies

        momento = _momento(ctx)
        try:
            deps = Dependencies(
                settings=_rotator_settings(ctx, None),
                secrets_client=ctx.client("secretsmanager"),
                momento=momento,
                clock=ctx.clock,
            )
            results = [rotate_here(deps, secret_id, args.force) for secret_id in secret_ids]
        finally:
            momento.close()
    else:
        function = ctx.function(args.function, "RotatorFunctionArn")
        results = [rotate_remote(ctx.client("lambda"), function, s, args.force) for s in secret_ids]
    return {"results": results}, all(r.get("outcome") != "failed" for r in results)


def _cmd_rollback(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from keyguard_cli.rollback import rollback

    momento = _momento(ctx)
    try:
        report = rollback(
            _store(ctx, args.secret),
            momento,
            _rotator_settings(ctx, args.function),
            ctx.clock(),
            apply=args.yes,
        )
    finally:
        momento.close()
    return report, True


def _claims(path: str) -> dict[str, Any]:
    from keyguard_cli.policy_check import read_json

    claims = read_json(path, "claims file")
    if not isinstance(claims, dict):
        raise ConfigError([f'claims file {path!r}: expected a JSON object of claims, e.g. {{"sub": "..."}}'])
    return claims


def _cmd_policy(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from keyguard_cli.policy_check import check_policy

    reserved = frozenset({args.shared_token_cache} if args.shared_token_cache else ())
    identities = [(path, _claims(path)) for path in args.identities]
    report = check_policy(
        args.file,
        identities,
        ceiling=args.max_ttl,
        reserved=reserved,
        auth_mode=args.auth_mode,
        groups_claim=args.groups_claim,
    )
    return report, bool(report["valid"])


def _cmd_vend(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from keyguard_cli.policy_check import read_json
    from keyguard_cli.vend import vend_http, vend_invoke

    claims = _claims(args.claims)
    body = None
    if args.request:
        body = read_json(args.request, "request file")
        if not isinstance(body, dict):
            raise ConfigError([f"request file {args.request!r}: expected a JSON object"])
    if args.url:
        if not ctx.local:
            raise ConfigError(
                [
                    "--url needs --local: a deployed API verifies real JWTs; "
                    "use --function or --stack to invoke the vendor"
                ]
            )
        result = vend_http(args.url, claims, body)
    else:
        result = vend_invoke(
            ctx.client("lambda"), ctx.function(args.function, "VendorFunctionArn"), claims, body
        )
    return result, result["outcome"] == "vended"


_COMMANDS: dict[str, Callable[[Context, argparse.Namespace], tuple[dict[str, Any], bool]]] = {
    "status": _cmd_status,
    "rotate": _cmd_rotate,
    "rollback": _cmd_rollback,
    "policy": _cmd_policy,
    "vend": _cmd_vend,
}


def _failure(exc: BaseException) -> tuple[str, str]:
    """(code, message) for anything that stops a command, without tracebacks or key material."""
    if isinstance(exc, ConfigError):
        return exc.code, "; ".join(exc.problems)
    if isinstance(exc, KeyGuardError):
        return exc.code, str(exc)
    if isinstance(exc, NoRegionError):
        return "config_error", "no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION"
    if isinstance(exc, NoCredentialsError):
        return "config_error", "no AWS credentials: configure them as for the AWS CLI (or use --local)"
    if isinstance(exc, ProfileNotFound):
        return "config_error", str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return "aws_error", f"{error.get('Code', 'error')}: {str(error.get('Message', ''))[:300]}"
    if isinstance(exc, BotoCoreError):
        return "aws_error", f"{type(exc).__name__}: {exc}"
    return "internal_error", f"unexpected {type(exc).__name__}"


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    out: TextIO | None = None,
) -> int:
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    ctx = Context(
        environ=os.environ if environ is None else environ,
        local=bool(args.local),
        region=args.region,
        profile=args.profile,
        clock=clock,
        stack_name=args.stack,
    )
    try:
        report, ok = _COMMANDS[args.command](ctx, args)
    except Exception as exc:
        code, message = _failure(exc)
        if args.json:
            print(json.dumps({"error": code, "message": message}), file=stream)
        else:
            print(f"error: {code}: {message}", file=stream if out else sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True), file=stream)
    else:
        print(render.human(args.command, report, clock()), file=stream)
    return 0 if ok else 1
