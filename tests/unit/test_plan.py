"""The pure sync planner, case by case (isync run-tests / pimalaya build_patch style).

Part 1 is a table with one named case per cell of the presence x flags matrix for a
single message (uid 1): present or absent at the last sync, locally, and on the
server, flags changed or not on each side, for a full scan and for a partial
(CONDSTORE/QRESYNC) server view. `test_matrix_is_exhaustive` proves every cell has a
case. Part 2 covers the guardrails, part 3 the UIDVALIDITY rematch, part 4 checks
invariants over random folders (convergence, idempotence, full == partial view).
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.model import Flag, Flags, FolderChanges, FolderStatus, RemoteFlags
from mailcli.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    PullFlags,
    PushFlags,
    UploadLocal,
    batch_push_flags,
    format_uids,
)
from mailcli.sync.events import FolderDone, MessageFetched, NullReporter, RecordingReporter
from mailcli.sync.plan import (
    LIMITS,
    CachedCopy,
    Limits,
    Plan,
    ServerCopy,
    merge_flags,
    plan,
    rematch,
)
from mailcli.store import FolderState
from mailcli.sync.unchanged import folder_unchanged

FOLDER = "INBOX"


def F(letters: str = "") -> Flags:
    """Flags from Maildir letters: S seen, R answered, F flagged, T deleted, D draft."""
    out = set()
    for letter in letters:
        flag = Flag.from_maildir(letter)
        assert flag is not None, letter
        out.add(flag)
    return frozenset(out)


# ---------------------------------------------------------------------------- part 1

ABSENT = None


@dataclass(frozen=True)
class Case:
    """One message (uid 1) in one cell. `remote` None = absent (full) / not reported
    (partial); `vanished` marks it expunged in a partial view."""

    name: str
    last: Flags | None
    local: Flags | None
    remote: Flags | None
    full: bool = True
    vanished: bool = False
    actions: tuple[Action, ...] = ()
    synced: Mapping[int, Flags] = field(default_factory=dict)
    forget: frozenset[int] = frozenset()
    notes: int = 0

    def run(self) -> Plan:
        # uid 100 is a bystander, synced and unchanged everywhere, so that a folder whose
        # only message was deleted locally is not an empty local store (see 0210).
        by = {100: S}
        return plan(FOLDER,
                    by if self.local is None else {1: self.local, **by},
                    by if self.last is None else {1: self.last, **by},
                    (by if self.full else {}) | ({} if self.remote is None else {1: self.remote}),
                    remote_full=self.full, vanished=(1,) if self.vanished else ())

    def cell(self) -> tuple[str, str, str, str, bool | None]:
        """(mode, last, local, remote, flags agree) derived from the inputs."""
        mode = "full" if self.full else "partial"
        last = "A" if self.last is None else "P"

        def side(flags: Flags | None) -> str:
            if flags is None:
                return "A"
            if self.last is None:
                return "P"
            return "same" if flags == self.last else "changed"

        local = side(self.local)
        remote_flags_now: Flags | None
        if self.full:
            remote, remote_flags_now = side(self.remote), self.remote
        elif self.vanished:
            remote, remote_flags_now = "vanished", None
        elif self.remote is not None:
            remote = "P" if self.last is None else f"reported-{side(self.remote)}"
            remote_flags_now = self.remote
        else:
            remote = "unknown" if self.last is None else "unreported"
            remote_flags_now = self.last
        agree = None
        if self.local is not None and remote_flags_now is not None:
            agree = self.local == remote_flags_now
        return mode, last, local, remote, agree


S, R, FL, T = F("S"), F("R"), F("F"), F("T")
CASES = [
    # ---- full scan, message unknown at the last sync
    Case("0001_new_on_server", None, None, S, actions=(Download(FOLDER, (1,)),)),
    Case("0002_cached_unrecorded_same_flags", None, S, S, synced={1: S}),
    Case("0003_cached_unrecorded_flags_differ_union", None, S, FL,
         actions=(PullFlags(FOLDER, 1, F("SF")), PushFlags(FOLDER, 1, add=S)),
         synced={1: F("SF")}, notes=1),
    Case("0004_cached_unrecorded_gone_on_server", None, S, None,
         actions=(DeleteLocal(FOLDER, 1),)),
    # ---- full scan, message known at the last sync
    Case("0005_deleted_on_both_sides", S, None, None, forget=frozenset({1})),
    Case("0006_deleted_locally", S, None, S, actions=(DeleteRemote(FOLDER, 1),)),
    Case("0007_deleted_locally_changed_on_server", S, None, F("SF"),
         actions=(DeleteRemote(FOLDER, 1),), notes=1),
    Case("0008_expunged_on_server", S, S, None, actions=(DeleteLocal(FOLDER, 1),)),
    Case("0009_expunged_on_server_changed_locally", S, F("SF"), None,
         actions=(DeleteLocal(FOLDER, 1),), notes=1),
    Case("0010_unchanged", S, S, S),
    Case("0011_changed_on_server", F(), F(), S, actions=(PullFlags(FOLDER, 1, S),),
         synced={1: S}),
    Case("0012_changed_locally", F(), S, F(), actions=(PushFlags(FOLDER, 1, add=S),),
         synced={1: S}),
    Case("0013_changed_alike_on_both_sides", F(), F("SF"), F("SF"), synced={1: F("SF")}),
    Case("0014_changed_differently_on_both_sides", S, F(), F("SF"),
         actions=(PullFlags(FOLDER, 1, FL), PushFlags(FOLDER, 1, remove=S)),
         synced={1: FL}),
    # ---- partial view (CONDSTORE/QRESYNC), message unknown at the last sync
    Case("0015_partial_new_on_server", None, None, S, full=False,
         actions=(Download(FOLDER, (1,)),)),
    Case("0016_partial_cached_unrecorded_reported_same", None, S, S, full=False,
         synced={1: S}),
    Case("0017_partial_cached_unrecorded_reported_differ", None, F("ST"), FL, full=False,
         actions=(PullFlags(FOLDER, 1, F("SF")), PushFlags(FOLDER, 1, add=S)),
         synced={1: F("SF")}, notes=1),
    Case("0018_partial_cached_unrecorded_vanished", None, S, None, full=False,
         vanished=True, actions=(DeleteLocal(FOLDER, 1),)),
    Case("0019_partial_cached_unrecorded_unreported_left_alone", None, S, None, full=False,
         notes=1),
    # ---- partial view, message known at the last sync
    Case("0020_partial_vanished_and_deleted_locally", S, None, None, full=False,
         vanished=True, forget=frozenset({1})),
    Case("0021_partial_deleted_locally_unreported", S, None, None, full=False,
         actions=(DeleteRemote(FOLDER, 1),)),
    Case("0022_partial_deleted_locally_reported_same", S, None, S, full=False,
         actions=(DeleteRemote(FOLDER, 1),)),
    Case("0023_partial_deleted_locally_changed_on_server", S, None, R, full=False,
         actions=(DeleteRemote(FOLDER, 1),), notes=1),
    Case("0024_partial_vanished", S, S, None, full=False, vanished=True,
         actions=(DeleteLocal(FOLDER, 1),)),
    Case("0025_partial_vanished_changed_locally", S, F(), None, full=False, vanished=True,
         actions=(DeleteLocal(FOLDER, 1),), notes=1),
    Case("0026_partial_unchanged", S, S, None, full=False),
    Case("0027_partial_reported_without_change", S, S, S, full=False),
    Case("0028_partial_changed_on_server", F(), F(), F("SR"), full=False,
         actions=(PullFlags(FOLDER, 1, F("SR")),), synced={1: F("SR")}),
    Case("0029_partial_changed_locally_unreported", F(), FL, None, full=False,
         actions=(PushFlags(FOLDER, 1, add=FL),), synced={1: FL}),
    Case("0030_partial_changed_locally_reported_same", S, F(), S, full=False,
         actions=(PushFlags(FOLDER, 1, remove=S),), synced={1: F()}),
    Case("0031_partial_changed_alike", F(), S, S, full=False, synced={1: S}),
    Case("0032_partial_changed_differently", F("SF"), S, F("FR"), full=False,
         actions=(PullFlags(FOLDER, 1, R), PushFlags(FOLDER, 1, remove=FL)),
         synced={1: R}),
    # ---- flag-rule cases inside cells already covered
    Case("0033_no_base_deleted_flag_kept_when_both_have_it", None, F("ST"), F("ST"),
         synced={1: F("ST")}),
    Case("0034_no_base_deleted_flag_on_one_side_dropped", None, F("ST"), S,
         actions=(PullFlags(FOLDER, 1, S),), synced={1: S}, notes=1),
    Case("0035_with_base_deleted_flag_propagates_like_any_flag", F(), T, F(),
         actions=(PushFlags(FOLDER, 1, add=T),), synced={1: T}),
    Case("0036_every_flag_merged_independently", F("SR"), F("SRFD"), F("RT"),
         actions=(PullFlags(FOLDER, 1, F("RFDT")), PushFlags(FOLDER, 1, add=F("FD"))),
         synced={1: F("RFDT")}),
    Case("0037_unseen_on_server_seen_locally", S, S, F(),
         actions=(PullFlags(FOLDER, 1, F()),), synced={1: F()}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    result = case.run()
    assert result.actions == case.actions
    assert dict(result.synced) == dict(case.synced)
    assert result.forget == case.forget
    assert len(result.notes) == case.notes, result.notes
    assert result.blocked is None


def _all_cells() -> set[tuple[str, str, str, str, bool | None]]:
    cells: set[tuple[str, str, str, str, bool | None]] = set()
    remotes = {("full", "A"): ["A", "P"], ("full", "P"): ["A", "same", "changed"],
               ("partial", "A"): ["vanished", "P", "unknown"],
               ("partial", "P"): ["vanished", "unreported", "reported-same",
                                  "reported-changed"]}
    for (mode, last), remote_states in remotes.items():
        locals_ = ["A", "P"] if last == "A" else ["A", "same", "changed"]
        for local, remote in itertools.product(locals_, remote_states):
            remote_present = remote not in ("A", "vanished", "unknown")
            if last == "A" and local == "A" and not remote_present:
                continue  # the uid is nowhere: not a message
            if local == "A" or not remote_present:
                cells.add((mode, last, local, remote, None))
                continue
            r_changed = remote in ("changed", "reported-changed")
            if last == "A" or (local == "changed" and r_changed):
                options = [True, False]
            else:
                options = [local == "same" and not r_changed]
            for agree in options:
                cells.add((mode, last, local, remote, agree))
    return cells


def test_matrix_is_exhaustive() -> None:
    cells = _all_cells()
    assert len(cells) == 32
    covered = {c.cell() for c in CASES}
    assert covered == cells, f"missing: {cells - covered}, impossible: {covered - cells}"


def test_case_names_are_numbered_and_unique() -> None:
    numbers = [c.name[:4] for c in CASES]
    assert numbers == [f"{i:04d}" for i in range(1, len(CASES) + 1)]


def test_plan_0100_local_only_message_is_uploaded() -> None:
    result = plan(FOLDER, {1: S}, {1: S}, {1: S}, remote_full=True, local_only=(9, 7))
    assert result.actions == (UploadLocal(FOLDER, 7), UploadLocal(FOLDER, 9))


def test_plan_0101_actions_are_ordered_and_downloads_batched() -> None:
    last = {1: S, 2: S, 3: S, 4: F()}
    local = {1: S, 3: S, 4: F()}            # 2 deleted locally
    remote = {2: S, 3: F("SF"), 4: S, 5: F(), 6: F(), 8: R}   # 1 expunged, 5/6/8 new
    result = plan(FOLDER, local, last, remote, remote_full=True, local_only=(40,))
    assert result.actions == (
        DeleteLocal(FOLDER, 1),
        PullFlags(FOLDER, 3, F("SF")),
        PullFlags(FOLDER, 4, S),
        DeleteRemote(FOLDER, 2),
        UploadLocal(FOLDER, 40),
        Download(FOLDER, (5, 6, 8)),
    )
    assert result.downloads == (5, 6, 8)
    assert (len(result.of_type(DeleteLocal)), len(result.of_type(DeleteRemote))) == (1, 1)
    assert result.of_type(PullFlags) == [PullFlags(FOLDER, 3, F("SF")), PullFlags(FOLDER, 4, S)]


def test_plan_0102_plan_describes_itself() -> None:
    result = plan(FOLDER, {1: S}, {1: F()}, {2: F()}, remote_full=True)
    text = str(result)
    assert text.splitlines()[0] == "INBOX: 2 action(s)"
    assert "delete local copy INBOX uid 1 (expunged on server)" in text
    assert "download 1 message from INBOX (uid 2)" in text
    assert "note INBOX uid 1: flags changed locally but expunged" in text


# ---------------------------------------------------------------------------- part 2

def _uids(n: int, start: int = 1) -> dict[int, Flags]:
    return {uid: S for uid in range(start, start + n)}


def test_plan_0201_mass_local_delete_is_blocked() -> None:
    last, remote = _uids(100), _uids(100)
    local = _uids(40)
    result = plan(FOLDER, local, last, remote, remote_full=True)
    assert result.blocked is not None
    assert "would delete 60 of 100 messages on the server in INBOX" in result.blocked
    assert "--force" in result.blocked
    assert len(result.of_type(DeleteRemote)) == 60  # still listed for --dry-run
    assert "BLOCKED" in str(result)


def test_plan_0202_mass_expunge_on_server_is_blocked() -> None:
    last, local = _uids(100), _uids(100)
    result = plan(FOLDER, local, last, _uids(30), remote_full=True)
    assert result.blocked is not None and "70 of 100 messages locally" in result.blocked


def test_plan_0203_empty_server_listing_is_blocked() -> None:
    result = plan(FOLDER, _uids(100), _uids(100), {}, remote_full=True)
    assert result.blocked is not None and "100 of 100" in result.blocked


def test_plan_0204_force_lets_a_mass_delete_through() -> None:
    result = plan(FOLDER, _uids(40), _uids(100), _uids(100), remote_full=True, force=True)
    assert result.blocked is None and len(result.of_type(DeleteRemote)) == 60


def test_plan_0205_half_the_folder_is_allowed() -> None:
    result = plan(FOLDER, _uids(50), _uids(100), _uids(100), remote_full=True)
    assert result.blocked is None and len(result.of_type(DeleteRemote)) == 50


def test_plan_0206_small_folder_floor() -> None:
    # 9 of 10 deleted locally: above 50 % but within the floor of 10.
    result = plan(FOLDER, _uids(1), _uids(10), _uids(10), remote_full=True)
    assert result.blocked is None and len(result.of_type(DeleteRemote)) == 9
    result = plan(FOLDER, _uids(1), _uids(12), _uids(12), remote_full=True)
    assert result.blocked is not None and "11 of 12" in result.blocked


def test_plan_0207_ceiling_of_500_in_big_folders() -> None:
    last = _uids(1200)
    ok = plan(FOLDER, _uids(700, start=501), last, last, remote_full=True)
    assert ok.blocked is None and len(ok.of_type(DeleteRemote)) == 500
    over = plan(FOLDER, _uids(699, start=502), last, last, remote_full=True)
    assert over.blocked is not None and "501 of 1200" in over.blocked


def test_plan_0208_both_sides_are_limited_separately() -> None:
    last = _uids(100)
    local = {u: S for u in range(41, 101)}       # 1..40 deleted locally
    remote = {u: S for u in range(1, 61)}         # 61..100 expunged on server
    result = plan(FOLDER, local, last, remote, remote_full=True)
    assert (len(result.of_type(DeleteRemote)), len(result.of_type(DeleteLocal))) == (40, 40)
    assert result.blocked is None


def test_plan_0209_custom_limits() -> None:
    strict = Limits(fraction=0.1, floor=0, ceiling=5)
    assert strict.allowed(1000) == 5 and strict.allowed(20) == 2
    result = plan(FOLDER, _uids(7), _uids(10), _uids(10), remote_full=True, limits=strict)
    assert result.blocked is not None and "(limit 1)" in result.blocked
    assert LIMITS.allowed(0) == 10 and LIMITS.allowed(100) == 50 and LIMITS.allowed(10**6) == 500


@pytest.mark.parametrize("force", [False, True])
def test_plan_0210_empty_local_store_is_never_a_mass_delete(force: bool) -> None:
    last, remote = _uids(100), _uids(100)
    result = plan(FOLDER, {}, last, remote, remote_full=True, force=force)
    assert result.blocked is None
    assert len(result.of_type(DeleteRemote)) == len(result.of_type(DeleteLocal)) == 0
    assert result.actions == (Download(FOLDER, tuple(range(1, 101))),)
    assert result.forget == frozenset(last)
    assert len(result.notes) == 1 and "local store is empty" in result.notes[0].note


def test_plan_0211_empty_local_store_with_partial_view() -> None:
    last = _uids(100)
    result = plan(FOLDER, {}, last, {3: FL, 101: F()}, remote_full=False, vanished=(5, 6))
    expected = tuple(u for u in range(1, 102) if u not in (5, 6))
    assert result.actions == (Download(FOLDER, expected),)
    assert result.forget == frozenset(last)


def test_plan_0212_empty_local_store_full_view_downloads_only_what_the_server_has() -> None:
    result = plan(FOLDER, {}, _uids(10), {4: S, 11: S}, remote_full=True)
    assert result.actions == (Download(FOLDER, (4, 11)),)


def test_plan_0213_local_only_messages_mean_the_store_is_not_missing() -> None:
    result = plan(FOLDER, {}, _uids(3), _uids(3), remote_full=True, local_only=(1,))
    assert len(result.of_type(DeleteRemote)) == 3 and result.blocked is None  # within the floor


def test_plan_0214_initial_sync_downloads_everything() -> None:
    result = plan(FOLDER, {}, {}, _uids(1000), remote_full=True)
    assert result.blocked is None and result.notes == ()
    assert result.downloads == tuple(range(1, 1001))


def test_plan_0215_nothing_anywhere() -> None:
    result = plan(FOLDER, {}, {}, {}, remote_full=True)
    assert result.empty and result.blocked is None and str(result) == "INBOX: 0 action(s)"


# ---------------------------------------------------------------------------- part 3

def test_rematch_by_message_id_and_size() -> None:
    cached = [CachedCopy(10, "<a@x>", 100, old_uid=1), CachedCopy(11, "<b@x>", 200, old_uid=2),
              CachedCopy(12, " <c@x> ", 300, old_uid=3)]
    server = [ServerCopy(7, "<b@x>", 200), ServerCopy(5, "<a@x>", 100),
              ServerCopy(9, "c@x", 300)]
    result = rematch(FOLDER, cached, server)
    assert dict(result.matched) == {10: 5, 11: 7, 12: 9}
    assert result.download is None and result.orphans == ()
    assert "re-matched 3 cached message(s), 0 to download, 0 kept locally" in str(result)
    assert "nothing deleted" in str(result)


def test_rematch_downloads_the_rest_and_keeps_orphans() -> None:
    cached = [CachedCopy(10, "<a@x>", 100), CachedCopy(11, "<gone@x>", 50),
              CachedCopy(12, "<a2@x>", 100, old_uid=4)]
    server = [ServerCopy(1, "<a@x>", 100), ServerCopy(2, "<new@x>", 10),
              ServerCopy(3, "<a2@x>", 101)]          # same id, different size
    result = rematch(FOLDER, cached, server)
    assert dict(result.matched) == {10: 1}
    assert result.download == Download(FOLDER, (2, 3))
    assert result.orphans == (11, 12)


def test_rematch_pairs_duplicates_in_order() -> None:
    cached = [CachedCopy(21, "<d@x>", 10, old_uid=9), CachedCopy(20, "<d@x>", 10, old_uid=3),
              CachedCopy(22, "<d@x>", 10, old_uid=12)]
    server = [ServerCopy(31, "<d@x>", 10), ServerCopy(30, "<d@x>", 10)]
    result = rematch(FOLDER, cached, server)
    assert dict(result.matched) == {20: 30, 21: 31}
    assert result.orphans == (22,) and result.download is None


def test_rematch_never_matches_without_a_message_id() -> None:
    cached = [CachedCopy(1, None, 10), CachedCopy(2, "  ", 10), CachedCopy(3, "<>", 10)]
    server = [ServerCopy(5, None, 10), ServerCopy(6, "", 10)]
    result = rematch(FOLDER, cached, server)
    assert dict(result.matched) == {}
    assert result.download == Download(FOLDER, (5, 6))
    assert result.orphans == (1, 2, 3)


def test_rematch_without_a_message_id_matches_identical_bytes() -> None:
    cached = [CachedCopy(1, None, 10, old_uid=4, digest="d1"), CachedCopy(2, None, 10, digest="d2"),
              CachedCopy(3, None, 10, digest="d1")]
    server = [ServerCopy(8, None, 10, "d2"), ServerCopy(9, None, 10, "d1"),
              ServerCopy(7, None, 11, "d1")]         # same digest, other size: never
    result = rematch(FOLDER, cached, server)
    assert dict(result.matched) == {1: 9, 2: 8}
    assert result.download == Download(FOLDER, (7,)) and result.orphans == (3,)


def test_rematch_then_plan_loses_no_local_flag_change() -> None:
    # Before the change: local 10 was flagged locally (not yet pushed), 11 unchanged.
    cached = [CachedCopy(10, "<a@x>", 100, old_uid=1), CachedCopy(11, "<b@x>", 200, old_uid=2)]
    server = [ServerCopy(501, "<a@x>", 100), ServerCopy(502, "<b@x>", 200),
              ServerCopy(503, "<c@x>", 300)]
    result = rematch(FOLDER, cached, server)
    local_now = {result.matched[10]: F("SF"), result.matched[11]: S}
    remote_now = {501: S, 502: F("SR"), 503: F()}
    follow = plan(FOLDER, local_now, {}, remote_now, remote_full=True)
    assert follow.actions == (
        PullFlags(FOLDER, 502, F("SR")),
        PushFlags(FOLDER, 501, add=FL),
        Download(FOLDER, (503,)),
    )
    assert len(follow.of_type(DeleteLocal)) == len(follow.of_type(DeleteRemote)) == 0
    assert result.download == Download(FOLDER, (503,))


# ---------------------------------------------------------------------------- part 4

flag_sets = st.frozensets(st.sampled_from(list(Flag)), max_size=3)
folders = st.dictionaries(st.integers(1, 12), flag_sets, max_size=10)


def _apply(result: Plan, local: dict[int, Flags], remote: dict[int, Flags],
           last: dict[int, Flags]) -> None:
    """Execute a plan on in-memory sides the way the engine must."""
    for uid in result.forget:
        last.pop(uid, None)
    for action in result.actions:
        if isinstance(action, DeleteLocal):
            del local[action.uid]
            last.pop(action.uid, None)
        elif isinstance(action, DeleteRemote):
            del remote[action.uid]
            last.pop(action.uid, None)
        elif isinstance(action, PullFlags):
            local[action.uid] = action.flags
        elif isinstance(action, PushFlags):
            remote[action.uid] = (remote[action.uid] | action.add) - action.remove
        elif isinstance(action, Download):
            for uid in action.uids:
                local[uid] = last[uid] = remote[uid]
    last.update(result.synced)


@settings(max_examples=300, deadline=None)
@given(last=folders, local=folders, remote=folders)
def test_sync_converges_and_is_idempotent(last: dict[int, Flags], local: dict[int, Flags],
                                          remote: dict[int, Flags]) -> None:
    first = plan(FOLDER, local, last, remote, remote_full=True, force=True)
    # Deletions only ever come from the other side's absence of a known message.
    for action in first.actions:
        if isinstance(action, DeleteRemote):
            assert action.uid in last and action.uid not in local
        if isinstance(action, DeleteLocal):
            assert action.uid in local and action.uid not in remote
    if not local and last:
        assert len(first.of_type(DeleteRemote)) == 0
    local, remote, last = dict(local), dict(remote), dict(last)
    _apply(first, local, remote, last)
    assert local == remote == last
    again = plan(FOLDER, local, last, remote, remote_full=True)
    assert again.empty, again


@settings(max_examples=300, deadline=None)
@given(last=folders, local=folders, remote=folders)
def test_partial_view_plans_like_a_full_scan(last: dict[int, Flags], local: dict[int, Flags],
                                             remote: dict[int, Flags]) -> None:
    changed = {u: f for u, f in remote.items() if last.get(u) != f}
    vanished = (set(last) | set(local)) - set(remote)
    full = plan(FOLDER, local, last, remote, remote_full=True)
    partial = plan(FOLDER, local, last, changed, remote_full=False, vanished=vanished)
    assert partial == full


@settings(max_examples=300, deadline=None)
@given(last=folders, local=folders, remote=folders, gone=st.sets(st.integers(1, 12)))
def test_partial_view_looks_only_at_what_changed(last: dict[int, Flags],
                                                 local: dict[int, Flags],
                                                 remote: dict[int, Flags],
                                                 gone: set[int]) -> None:
    """The planner skips the UIDs of a partial view that nothing changed: the same plan as
    looking at every UID, whatever the inputs (also inconsistent ones)."""
    import mailcli.sync.plan as planner

    fast = plan(FOLDER, local, last, remote, remote_full=False, vanished=gone)
    every = planner._candidates
    planner._candidates = (lambda now, last_, rem, _g, _f:   # type: ignore[assignment]
                           set(now) | set(last_) | set(rem))
    try:
        slow = plan(FOLDER, local, last, remote, remote_full=False, vanished=gone)
    finally:
        planner._candidates = every
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(last=folders, local=folders, remote=folders, gone=st.sets(st.integers(1, 12)))
def test_partial_view_plans_alike_from_only_the_rows_the_engine_reads(
        last: dict[int, Flags], local: dict[int, Flags], remote: dict[int, Flags],
        gone: set[int]) -> None:
    """An incremental sync reads only the cached rows of the UIDs the server reported
    (changed or vanished) and those whose flags differ from the last sync's
    (Store.message_rows_for), with the count of cached UIDs: the same plan as from every
    row, the guardrail's folder size included. (In the cache the last sync's flags live
    on the rows, so last's UIDs are a subset of local's.)"""
    last = {u: f for u, f in last.items() if u in local}
    read = {u for u, f in local.items() if u in remote or u in gone or last.get(u) != f}
    some = plan(FOLDER, {u: local[u] for u in read}, {u: last[u] for u in read if u in last},
                remote, remote_full=False, vanished=gone, cached=len(local),
                limits=Limits(0.3, 0, 1000))
    every = plan(FOLDER, local, last, remote, remote_full=False, vanished=gone,
                 limits=Limits(0.3, 0, 1000))
    assert some == every


def test_partial_view_of_a_large_folder_looks_at_few_uids() -> None:
    import mailcli.sync.plan as planner

    last = {uid: F("S") for uid in range(1, 10_001)}
    local = dict(last)
    local[7] = F("SF")          # flagged here
    del local[8]                # deleted here
    remote = {9: F(""), 10_001: F("")}     # read elsewhere, one new
    assert planner._candidates(local, last, remote, frozenset({11, 99_999}), False) == \
        {7, 8, 9, 11, 10_001}
    p = plan(FOLDER, local, last, remote, remote_full=False, vanished={11})
    assert p.downloads == (10_001,)
    assert {type(a).__name__ for a in p.actions} == \
        {"PushFlags", "DeleteRemote", "PullFlags", "DeleteLocal", "Download"}


@given(base=st.none() | flag_sets, local=flag_sets, remote=flag_sets)
def test_merge_flags_rules(base: Flags | None, local: Flags, remote: Flags) -> None:
    merged = merge_flags(base, local, remote)
    assert merge_flags(base, remote, local) == merged          # symmetric
    assert merge_flags(base, local, local) == local            # agreement is kept
    if base is not None:
        assert merge_flags(base, base, remote) == remote       # one-sided change wins
        assert merge_flags(base, local, base) == local
    else:
        assert merged - {Flag.DELETED} == (local | remote) - {Flag.DELETED}
        assert (Flag.DELETED in merged) == (Flag.DELETED in local & remote)


# ---------------------------------------------------------------- supporting types

def test_actions_describe_themselves() -> None:
    assert str(Download(FOLDER, (3, 1, 2, 9))) == "download 4 messages from INBOX (uid 1:3,9)"
    assert str(PushFlags(FOLDER, 4, add=F("SF"), remove=T)) == \
        "push flags INBOX uid 4: +seen +flagged -deleted"
    assert str(PushFlags(FOLDER, 4)) == "push flags INBOX uid 4: no change"
    assert str(PullFlags(FOLDER, 4, F())) == "pull flags INBOX uid 4: now -"
    assert str(DeleteRemote("Archive/2024", 8)) == \
        "delete on server Archive/2024 uid 8 (deleted locally)"
    assert str(UploadLocal("Sent", 12)) == "upload local message 12 to Sent"
    assert str(Conflict(FOLDER, None, "x")) == "note INBOX: x"
    with pytest.raises(AttributeError):
        Download(FOLDER, (1,)).folder = "x"  # type: ignore[misc]


def test_format_uids_and_push_batches() -> None:
    assert format_uids([]) == "" and format_uids([5]) == "5"
    assert format_uids([1, 2, 3, 5, 7, 8, 8]) == "1:3,5,7:8"
    actions: list[Action] = [PushFlags(FOLDER, 3, add=S), PushFlags(FOLDER, 1, add=S),
                             PushFlags(FOLDER, 2, remove=FL), Download(FOLDER, (4,))]
    assert batch_push_flags(actions) == [(S, frozenset(), (1, 3)), (frozenset(), FL, (2,))]


def test_a_status_proves_a_folder_unchanged_only_with_a_full_bookmark() -> None:
    status = FolderStatus("INBOX", uidvalidity=7, uidnext=10, messages=2, highestmodseq=55)
    state = FolderState("work", "INBOX", None, 7, 10, 55)
    assert folder_unchanged(state, status)
    moved = FolderStatus("INBOX", uidvalidity=7, uidnext=11, messages=3, highestmodseq=55)
    assert not folder_unchanged(state, moved)
    assert not folder_unchanged(state, FolderStatus("INBOX", 8, 10, 2, 55))
    assert not folder_unchanged(FolderState("work", "INBOX", None, 7, 10, None),
                                FolderStatus("INBOX", 7, 10, 2, None))
    assert not folder_unchanged(FolderState("work", "INBOX", None, 7, None, 55), status)


def test_reporters() -> None:
    NullReporter().event(MessageFetched("a", FOLDER, 10))
    rec = RecordingReporter()
    rec.event(MessageFetched("a", FOLDER, 10))
    rec.event(FolderDone("a", FOLDER))
    assert rec.of_type(MessageFetched) == [MessageFetched("a", FOLDER, 10)]
    assert len(rec.events) == 2 and rec.of_type(FolderDone)[0].counts.new == 0
