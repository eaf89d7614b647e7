"""Kill the rotator at a random moment, run it again, and count what was lost or left behind.

Each cycle starts a real rotator process (`rotator.invocation.handle`, the Lambda handler's
core, a forced direct rotation) against a ThreadedMotoServer + the local Momento server
running in this process, SIGKILLs it at a uniformly random moment of its run, moves the clock
past the claim lease, and runs a second rotator process to completion (the next scheduled
run). Where the second run asks for an operator (a v1 refresh token spent by the killed run,
its key lost), the loop acts as the runbook says: it stores a fresh console key. Then it checks:

- keys lost: the key in AWSCURRENT does not work (must be 0);
- refresh tokens spent twice (must be 0) and spent tokens presented again (each is the killed
  run's spent token met by the next run; it ends in an operator action);
- orphans left: v2 keys alive in the account but held by neither AWSCURRENT nor AWSPREVIOUS;
  v1 keys Momento issued that no version of the secret ever held, and how many of those the
  rotator recorded (`KEYGUARD_ORPHANS`; v1 keys cannot be revoked).

    .venv/bin/python bench/rotator_kill_loop.py [--cycles 100] [--kinds v1,v2] [--seconds 1500] [--seed 1]

Baseline (issue 11, before these changes): 100 v2 kills left 15 owner keys alive and unrevoked.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEASE = 120
#: Real seconds to wait after a kill before the next run (see `run_killed`).
DRAIN_SECONDS = 2.0
DAY = 86400


def child(secret_id: str) -> None:
    """One rotator run, as the Lambda handler does it, on a clock shifted like the server's.

    It imports and builds its clients first, says READY, and starts when the parent sends the
    clock offset (so the parent can start the next run's interpreter while this cycle runs)."""
    import boto3
    from botocore.config import Config

    from rotator.events import DirectRequest
    from rotator.invocation import Dependencies, handle
    from rotator.settings import RotatorSettings
    from shared.momento_access import SdkMomentoAccess

    settings = RotatorSettings.read()
    client = boto3.client(
        "secretsmanager",
        endpoint_url=settings.common.secrets_manager_endpoint_url,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15),
    )
    momento = SdkMomentoAccess(settings.common)
    offset = [0.0]
    deps = Dependencies(settings, client, momento, clock=lambda: time.time() + offset[0])
    print("READY", flush=True)
    offset[0] = float(sys.stdin.readline())
    started = time.monotonic()
    report = handle(DirectRequest(secret_id, force=True), deps, time.monotonic() + 30)
    body = report.body()
    body["seconds"] = time.monotonic() - started
    print(json.dumps(body), flush=True)
    momento.close()


def _inner_jwt(key: str) -> str:
    """Refreshed v1 keys are stored as base64 JSON {"endpoint", "api_key"}; the server knows the JWT."""
    if "." in key:
        return key
    import base64

    try:
        inner = json.loads(base64.b64decode(key))["api_key"]
    except (ValueError, KeyError, TypeError):
        return key
    return inner if isinstance(inner, str) else key


class Loop:
    def __init__(self, stack: Any, seed: int) -> None:
        from shared.momento_access import SdkMomentoAccess

        self.stack = stack
        self.server = stack.momento
        self.rng = random.Random(seed)
        self.sm = stack.secretsmanager_client()
        self.env = {
            **os.environ,
            **stack.env(),
            "CLAIM_LEASE_SECONDS": str(LEASE),
            "V2_REVOKE_GRACE_SECONDS": "0",
            # generous: on a loaded machine a 5 s timeout ends runs as surely as a kill would
            "MOMENTO_TIMEOUT_SECONDS": "30",
            "POWERTOOLS_METRICS_NAMESPACE": "KillLoop",
        }
        from rotator.invocation import Dependencies
        from rotator.settings import RotatorSettings

        settings = RotatorSettings.read(self.env)
        self.momento = SdkMomentoAccess(settings.common)
        self.deps = Dependencies(settings, self.sm, self.momento, clock=self.server.clock.now)
        self._spare: subprocess.Popen[str] | None = None
        self._spare_for = ""
        # the in-process runs' warnings are in their results; keep stderr for the progress lines
        logging.getLogger("rotator").addHandler(logging.NullHandler())
        logging.getLogger("rotator").propagate = False
        self.refreshes: dict[str, list[bool]] = {}
        #: How runs that finished before their kill ended.
        self.unkilled: Counter[str] = Counter()
        self._watch_refreshes()

    def _watch_refreshes(self) -> None:
        """Record every refresh token presented to the server and whether it was spent then."""
        credentials = self.server.state.credentials
        original = credentials.refresh_v1
        seen = self.refreshes

        def refresh_v1(api_key: str, refresh_token: str) -> Any:
            try:
                result = original(api_key, refresh_token)
            except Exception:
                seen.setdefault(refresh_token, []).append(False)
                raise
            seen.setdefault(refresh_token, []).append(True)
            return result

        credentials.refresh_v1 = refresh_v1

    def spawn(self, secret_id: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, __file__, "--child", secret_id],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def started(self, secret_id: str) -> subprocess.Popen[str]:
        """A rotator process that has imported everything, told to start now."""
        process = self._spare if self._spare is not None and self._spare_for == secret_id else None
        if process is None:
            process = self.spawn(secret_id)
        self._spare = None
        assert process.stdout is not None
        assert process.stdin is not None
        ready = process.stdout.readline().strip()
        if ready != "READY":
            process.kill()
            raise RuntimeError(f"child did not start: {ready!r}")
        process.stdin.write(f"{self.server.clock.now() - time.time()!r}\n")
        process.stdin.flush()
        return process

    def prepare(self, secret_id: str) -> None:
        """Start the next run's interpreter now, so its imports overlap this cycle's checks."""
        self._spare = self.spawn(secret_id)
        self._spare_for = secret_id

    def finish_spare(self) -> None:
        if self._spare is not None:
            self._spare.kill()
            self._spare.communicate()
            self._spare = None

    def run_to_end(self, secret_id: str) -> dict[str, Any]:
        """A rotator subprocess run to completion."""
        process = self.started(secret_id)
        out, err = process.communicate(timeout=300)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"rotator run failed ({process.returncode}): {err[-2000:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def resume_in_process(self, secret_id: str) -> dict[str, Any]:
        """The next scheduled run, in this process (the same code the Lambda handler runs)."""
        from rotator.events import DirectRequest
        from rotator.invocation import handle

        report = handle(DirectRequest(secret_id, force=True), self.deps, time.monotonic() + 60)
        return report.body()

    def run_killed(self, secret_id: str, window: float) -> bool:
        """Start a run, SIGKILL it at a random moment of its run; True if it was killed."""
        process = self.started(secret_id)
        time.sleep(self.rng.uniform(0, window))
        killed = process.poll() is None
        if killed:
            os.kill(process.pid, signal.SIGKILL)
        out, _ = process.communicate(timeout=300)
        # The claim lease is simulated by moving the clock, not by waiting: let the servers finish
        # the requests the dead run had in flight (in production the 15-minute lease does), or
        # moto, which does not serialize them, races the next run into two AWSCURRENT versions.
        time.sleep(DRAIN_SECONDS)
        if not killed:
            # it ended by itself first: note how (a timeout under load ends a run like a kill)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            result = json.loads(lines[-1])["results"][0] if lines else {}
            self.unkilled[result.get("error_code") or result.get("outcome") or "no_result"] += 1
        return killed

    # --- the secret and what Momento knows ------------------------------------------------------

    def create(self, kind: str, account: str) -> str:
        secret_id = f"kill-loop/{kind}"
        self.sm.create_secret(Name=secret_id, SecretString=json.dumps(self.fresh_document(kind, account)))
        return secret_id

    def fresh_document(self, kind: str, account: str) -> dict[str, Any]:
        if kind == "v1":
            return dict(self.server.mint_master_key(account, 30 * DAY).console_json())
        minted = self.server.mint_v2_key(
            account, role_id="owner", expires_at=int(self.server.clock.now()) + 30 * DAY
        )
        return {
            "apiKey": minted.api_key,
            "endpoint": minted.endpoint,
            "keyId": minted.key_id,
            "roleId": "owner",
            "validUntil": minted.expires_at,
        }

    def store_fresh(self, secret_id: str, kind: str, account: str) -> None:
        """The operator's put-secret-value of a fresh key, made AWSCURRENT by an explicit stage move.

        moto's PutSecretValue demotes the version it last *put* as AWSCURRENT, not the one that
        holds the label after UpdateSecretVersionStage moves (which it never tracks): a plain put
        after a rotation leaves two AWSCURRENT versions (AWS keeps exactly one).
        """
        version = self.sm.put_secret_value(
            SecretId=secret_id,
            SecretString=json.dumps(self.fresh_document(kind, account)),
            VersionStages=["KEYGUARD_OPERATOR"],
        )["VersionId"]
        stages = self.sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        self.sm.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage="AWSCURRENT",
            MoveToVersionId=version,
            RemoveFromVersionId=current,
        )

    def stage_value(self, secret_id: str, stage: str) -> dict[str, Any] | None:
        try:
            text = self.sm.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
        except self.sm.exceptions.ResourceNotFoundException:
            return None
        document: dict[str, Any] = json.loads(text)
        return document

    def works(self, document: dict[str, Any] | None) -> bool:
        from shared.errors import KeyGuardError
        from shared.momento_types import MasterKey

        if document is None:
            return False
        try:
            self.momento.check_key(MasterKey(document["apiKey"], document.get("endpoint")))
        except KeyGuardError:
            return False
        return True

    def stored_keys(self, secret_id: str) -> set[str]:
        """The JWT of every key any version of the secret ever held (moto runs in this process)."""
        from moto.backends import get_backend

        found: set[str] = set()
        for regions in get_backend("secretsmanager").values():
            for backend in regions.values():
                for secret in backend.secrets.values():
                    if getattr(secret, "name", None) != secret_id:
                        continue
                    for version in getattr(secret, "versions", {}).values():
                        try:
                            document = json.loads(version.get("secret_string") or "{}")
                        except ValueError:
                            continue
                        if isinstance(document, dict) and isinstance(document.get("apiKey"), str):
                            found.add(_inner_jwt(document["apiKey"]))
        return found

    def recorded_orphans(self, secret_id: str) -> list[dict[str, Any]]:
        from rotator.orphans import read_orphans
        from rotator.secret_store import SecretStore

        store = SecretStore(self.sm, secret_id)
        return [orphan.to_json() for orphan in read_orphans(store, store.describe())]

    def v2_orphans_alive(self, secret_id: str, account: str) -> set[str]:
        alive = {cred.key_id for cred in self.server.state.credentials.list_v2(account)}
        held = set()
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            document = self.stage_value(secret_id, stage)
            if document is not None and document.get("keyId"):
                held.add(document["keyId"])
        return alive - held

    def v1_unstored(self, secret_id: str, account: str) -> int:
        from local.momento.credentials import Kind

        stored = self.stored_keys(secret_id)
        issued = [
            cred
            for cred in list(self.server.state.credentials._by_id.values())
            if cred.kind is Kind.V1 and cred.account == account and cred.parent is not None
        ]
        return sum(1 for cred in issued if cred.api_key not in stored)

    # --- the loop -------------------------------------------------------------------------------

    def calibrate(self, secret_id: str) -> float:
        durations = [float(self.run_to_end(secret_id)["seconds"]) for _ in range(3)]
        self.server.clock.advance(LEASE + 1)
        return statistics.median(durations)

    def cycles(self, kind: str, cycles: int, until: float) -> dict[str, Any]:
        account = f"kill-{kind}"
        secret_id = self.create(kind, account)
        window = self.calibrate(secret_id) * 1.3
        counts: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        self.unkilled.clear()
        for _ in range(cycles):
            if time.monotonic() > until:
                break
            counts["cycles"] += 1
            if counts["cycles"] % 10 == 0:
                print(f"{kind}: {counts['cycles']} cycles, {dict(outcomes)}", file=sys.stderr, flush=True)
            counts["killed" if self.run_killed(secret_id, window) else "finished_before_kill"] += 1
            self.prepare(secret_id)
            if not self.works(self.stage_value(secret_id, "AWSCURRENT")):
                counts["keys_lost_right_after_kill"] += 1
            self.server.clock.advance(LEASE + 1)
            before = self.stage_value(secret_id, "AWSCURRENT") or {}
            [result] = self.resume_in_process(secret_id)["results"]
            outcome = result.get("operator_action") or result.get("error_code") or result["outcome"]
            outcomes[outcome] += 1
            if outcome not in {"rotated", "resumed"} and os.environ.get("KILL_LOOP_VERBOSE"):
                history = self.refreshes.get(str(before.get("refreshToken")), [])
                print(
                    f"{kind} cycle {counts['cycles']}: {result.get('error', '')[:160]} "
                    f"(stored refresh token presented before: {history}; unkilled: {dict(self.unkilled)})",
                    file=sys.stderr,
                )
            counts["orphans_revoked_by_next_run"] += int(result.get("orphans_revoked", 0))
            counts["orphans_reported_alive_by_next_run"] += int(result.get("orphans_left", 0))
            if result.get("operator_action"):
                # the runbook: store a fresh console key
                self.store_fresh(secret_id, kind, account)
                counts["operator_actions"] += 1
            if not self.works(self.stage_value(secret_id, "AWSCURRENT")):
                counts["keys_lost"] += 1
                self.store_fresh(secret_id, kind, account)
            self.server.clock.advance(5)
        self.finish_spare()
        report: dict[str, Any] = {"kind": kind, "kill_window_ms": round(window * 1000, 1), **counts}
        report["next_run_outcomes"] = dict(outcomes)
        report["unkilled_run_outcomes"] = dict(self.unkilled)
        if kind == "v2":
            report["v2_orphans_left_alive"] = len(self.v2_orphans_alive(secret_id, account))
        else:
            recorded = [o for o in self.recorded_orphans(secret_id) if o["kind"] == "v1"]
            report["v1_keys_never_stored"] = self.v1_unstored(secret_id, account)
            report["v1_orphans_recorded"] = len(recorded)
        return report

    def refresh_counts(self) -> dict[str, int]:
        spent_twice = sum(1 for outcomes in self.refreshes.values() if outcomes.count(True) > 1)
        presented_after_spent = sum(
            1
            for outcomes in self.refreshes.values()
            if True in outcomes and outcomes.index(True) < len(outcomes) - 1
        )
        return {
            "refresh_tokens_presented": len(self.refreshes),
            "refresh_tokens_spent_twice": spent_twice,
            "spent_refresh_tokens_presented_again": presented_after_spent,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", metavar="SECRET_ID", help=argparse.SUPPRESS)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--kinds", default="v1,v2")
    parser.add_argument("--seconds", type=float, default=1500.0, help="stop starting cycles after this")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from local.stack import LocalStack

    with LocalStack() as stack:
        stack.momento.set_quota(None)
        loop = Loop(stack, args.seed)
        kinds = args.kinds.split(",")
        start = time.monotonic()
        # each kind gets its share of the time, so a slow machine still runs every kind
        reports = [
            loop.cycles(kind, args.cycles, start + args.seconds * (index + 1) / len(kinds))
            for index, kind in enumerate(kinds)
        ]
        loop.momento.close()
    for report in reports:
        print(json.dumps(report))
    print(json.dumps(loop.refresh_counts()))
    print("baseline (issue 11, before): 100 v2 kills -> 15 orphaned owner keys left alive")


if __name__ == "__main__":
    main()
