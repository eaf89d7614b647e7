"""Keys a dead run created and never stored (orphans), and the 404 answer to a revoke.

v2: the run that takes over an abandoned claim lists the account's keys and revokes those
whose description names a dead rotation, never a key in AWSCURRENT/AWSPREVIOUS/AWSPENDING.
v1: nothing can list or revoke them, so each is recorded (log, metric, `KEYGUARD_ORPHANS`).
"""

from __future__ import annotations

import json

import pytest

from rotator.engine import CLAIM_LABEL, REVOKED_LABEL, Outcome
from rotator.orphans import ORPHANS_LABEL, description_for, read_orphans, rotation_id_of, v2_orphans
from rotator.secret_store import SecretStore
from shared.errors import MomentoPermissionError, SecretStoreError
from shared.momento_access import ListedV2Key
from tests.rotator.asserts import (
    assert_clean_after_rotation,
    assert_no_live_claim,
    assert_refused,
    assert_works,
    holder,
    value,
)
from tests.rotator.faults import Crash, MomentoFaults, SecretsManagerFaults, staged
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
GRACE = 3600
LEASE = 901


def _alive(rstack: RotatorStack) -> set[str]:
    """Key ids of the account's live v2 keys, as the Momento server knows them."""
    return {cred.key_id for cred in rstack.server.state.credentials.list_v2(rstack.account)}


def _held(rstack: RotatorStack) -> set[str]:
    sm = rstack.client()
    ids = set()
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        if holder(sm, SECRET_ID, stage) is not None:
            ids.add(value(sm, SECRET_ID, stage)["keyId"])
    return ids


def _a_run_dies_after_creating_a_v2_successor(rstack: RotatorStack) -> None:
    """A v2 secret due for rotation, and a run killed right after Momento generated its successor."""
    rstack.create_v2_secret()
    rstack.clock.advance(21 * DAY)
    crashing = MomentoFaults(rstack.momento)
    crashing.crash_after("generate_v2")
    with pytest.raises(Crash):
        rstack.rotation(momento=crashing).run()


def test_the_run_taking_over_an_abandoned_claim_revokes_the_dead_runs_v2_key(rstack: RotatorStack) -> None:
    # GIVEN a run that created a v2 successor and died before storing it (15 of 100 kills did)
    _a_run_dies_after_creating_a_v2_successor(rstack)
    assert len(_alive(rstack)) == 2  # the current key and the orphan
    # WHEN the next run comes after the claim lease
    rstack.clock.advance(LEASE)
    result = rstack.rotation().run()
    # THEN it revoked the orphan, then rotated: only AWSCURRENT's and AWSPREVIOUS's keys live
    assert result.outcome is Outcome.ROTATED
    assert (result.orphans_revoked, result.orphans_left) == (1, 0)
    assert _alive(rstack) == _held(rstack)
    assert_clean_after_rotation(rstack.client(), SECRET_ID)
    store = SecretStore(rstack.client(), SECRET_ID)
    [recorded] = read_orphans(store, store.describe())
    assert (recorded.kind, recorded.revoked) == ("v2", True)


def test_the_orphan_search_never_touches_a_stored_key() -> None:
    listed = [
        ListedV2Key("k-current", description_for("r-dead", "s"), "owner", None),
        ListedV2Key("k-orphan", description_for("r-dead", "s"), "owner", None),
        ListedV2Key("k-other", description_for("r-live", "s"), "owner", None),
        ListedV2Key("k-human", "made in the console", "owner", None),
    ]
    found = v2_orphans(listed, ["r-dead"], {"k-current", "k-previous", "k-pending"})
    assert [key.key_id for key in found] == ["k-orphan"]
    assert rotation_id_of(description_for("r-1", "arn:aws:secretsmanager:x:secret:a b")) == "r-1"
    assert rotation_id_of("keyguard rotation") is None


def test_a_successor_that_cannot_be_stored_is_revoked_at_once_and_the_claim_given_back(
    rstack: RotatorStack,
) -> None:
    rstack.create_v2_secret()
    before = _alive(rstack)
    rstack.clock.advance(21 * DAY)
    client = rstack.client()
    SecretsManagerFaults(client).fail(
        "PutSecretValue", "InternalServiceError", 500, times=99, when=staged("AWSPENDING")
    )
    with pytest.raises(SecretStoreError):
        rstack.rotation(client=client).run()
    assert _alive(rstack) == before
    assert_no_live_claim(rstack.client(), SECRET_ID)
    # AND the next run rotates at once, no lease to wait out
    assert rstack.rotation().run().outcome is Outcome.ROTATED


def test_an_unexpected_error_before_anything_was_issued_releases_the_claim(rstack: RotatorStack) -> None:
    # GIVEN an abandoned claim (a run died after claiming, before its Momento call)
    rstack.create_v2_secret()
    rstack.clock.advance(21 * DAY)
    client = rstack.client()
    SecretsManagerFaults(client).crash_after("PutSecretValue", when=staged(CLAIM_LABEL))
    with pytest.raises(Crash):
        rstack.rotation(client=client).run()
    rstack.clock.advance(LEASE)
    # WHEN the run taking over fails unexpectedly (a bug) while searching for orphans
    momento = MomentoFaults(rstack.momento)
    momento.fail("list_v2_keys", RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        rstack.rotation(momento=momento).run()
    assert momento.attempts["generate_v2"] == 0
    # THEN its claim is given back: the next run goes ahead at once (and searches again)
    assert_no_live_claim(rstack.client(), SECRET_ID)
    assert rstack.rotation().run().outcome is Outcome.ROTATED
    assert _alive(rstack) == _held(rstack)


def test_a_plain_base64_secret_fails_clearly_and_leaves_no_claim(rstack: RotatorStack) -> None:
    # "QUJD" is valid base64; the SDK's reader raised a bare JSONDecodeError after the claim,
    # and the claim blocked every run for its whole lease.
    from rotator.events import DirectRequest
    from rotator.invocation import handle

    due = int(rstack.clock()) + 600
    rstack.create_secret({"apiKey": "QUJD", "refreshToken": "refresh-token-0000000000", "validUntil": due})
    for _ in range(2):  # the second run gets the same clear answer, not rotation_in_progress
        [result] = handle(DirectRequest(SECRET_ID, force=True), rstack.deps()).results
        assert result.outcome is Outcome.FAILED
        assert result.error is not None
        assert result.error.code == "operator_action_required"
        assert "JSONDecodeError" not in str(result.error)
    assert_no_live_claim(rstack.client(), SECRET_ID)


# --- 404 on revoke ------------------------------------------------------------------------------


def _previous_with_key_id(rstack: RotatorStack, key_id: str) -> None:
    """Store the AWSPREVIOUS key again with another keyId (a typo, a copied secret)."""
    sm = rstack.client()
    previous = value(sm, SECRET_ID, "AWSPREVIOUS")
    sm.put_secret_value(
        SecretId=SECRET_ID,
        SecretString=json.dumps(dict(previous, keyId=key_id)),
        VersionStages=["AWSPREVIOUS"],
    )


def test_a_404_for_a_key_that_still_works_is_a_failed_revoke(rstack: RotatorStack) -> None:
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    _previous_with_key_id(rstack, "no-such-key")
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run()  # sees the changed AWSPREVIOUS: grace anew
    rstack.clock.advance(GRACE + 60)
    result = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert result.revoke is not None
    assert not result.revoke.revoked
    assert result.revoke.error is not None
    assert "does not belong" in str(result.revoke.error)
    assert holder(rstack.client(), SECRET_ID, REVOKED_LABEL) is None
    assert_works(rstack.momento, first["apiKey"], first["endpoint"])


def test_a_404_for_a_key_revoked_by_hand_counts_as_done(rstack: RotatorStack) -> None:
    first = rstack.create_v2_secret()
    rstack.rotation(v2_revoke_grace_seconds=GRACE).run(force=True)
    current = value(rstack.client(), SECRET_ID)
    rstack.server.state.credentials.revoke(rstack.account, first["keyId"])
    rstack.clock.advance(GRACE + 60)
    result = rstack.rotation(v2_revoke_grace_seconds=GRACE).run()
    assert result.revoke is not None
    assert result.revoke.revoked
    assert holder(rstack.client(), SECRET_ID, REVOKED_LABEL) == holder(
        rstack.client(), SECRET_ID, "AWSPREVIOUS"
    )
    assert_refused(rstack.momento, first["apiKey"], first["endpoint"])
    assert_works(rstack.momento, current["apiKey"], current["endpoint"])


def test_orphans_record_is_readable_and_labelled(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    store = SecretStore(rstack.client(), SECRET_ID)
    assert read_orphans(store, store.describe()) == ()
    assert holder(rstack.client(), SECRET_ID, ORPHANS_LABEL) is None


def test_an_orphan_search_momento_refuses_is_recorded_and_the_rotation_goes_on(rstack: RotatorStack) -> None:
    # Waiting for the search could outlive the current key: the dead rotation ids are recorded
    # as suspected orphans (OrphanedKeys alarm) instead.
    _a_run_dies_after_creating_a_v2_successor(rstack)
    rstack.clock.advance(LEASE)
    momento = MomentoFaults(rstack.momento)
    momento.fail("list_v2_keys", MomentoPermissionError("injected"))
    result = rstack.rotation(momento=momento).run()
    assert result.outcome is Outcome.ROTATED
    assert (result.orphans_revoked, result.orphans_left) == (0, 1)
    store = SecretStore(rstack.client(), SECRET_ID)
    [suspected] = read_orphans(store, store.describe())
    assert (suspected.kind, suspected.key_id, suspected.revoked) == ("v2", None, False)
    # AND the next run searches again, revokes the dead run's key, and settles the suspicion
    later = rstack.rotation().run()
    assert later.orphans_revoked >= 1
    assert _alive(rstack) == _held(rstack)
    assert all(orphan.revoked for orphan in read_orphans(store, store.describe()))


def test_the_state_readers_see_the_claim_and_the_promotion(rstack: RotatorStack) -> None:
    from rotator.state import current_since, read_claim

    rstack.create_v2_secret()
    rotation = rstack.rotation()
    rotated = rotation.run(force=True)
    store = SecretStore(rstack.client(), SECRET_ID)
    state = store.describe()
    claim = read_claim(store, state)
    assert claim is not None
    assert (claim.run_id, claim.for_version) == (rotation.run_id, rotated.previous_version_id)
    assert claim.pending_version_id == rotated.current_version_id
    assert not claim.held(rotated.current_version_id or "", rstack.clock(), 900)
    assert current_since(store, state, rotated.current_version_id or "") == pytest.approx(
        rstack.clock(), abs=5
    )


@pytest.mark.parametrize("text", ["QUJD", "WzFd", "A" * 5000])
def test_a_plain_string_that_is_no_key_is_called_so(rstack: RotatorStack, text: str) -> None:
    # Outsider pass: forcing these was refused as "a never-expiring v1 key" (nothing says so).
    from rotator.events import DirectRequest
    from rotator.invocation import handle

    rstack.create_secret(text)
    [result] = handle(DirectRequest(SECRET_ID, force=True), rstack.deps()).results
    assert result.error is not None
    assert result.error.code == "operator_action_required"
    assert "not a key" in str(result.error)
    assert_no_live_claim(rstack.client(), SECRET_ID)
