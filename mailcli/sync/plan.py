"""The PURE sync planner: (local now, last synced, server now) -> a Plan of actions.

No I/O, no clock, no logging: the same inputs always give the same Plan, which is
why tests/unit/test_plan.py can cover every case as a table. sync/engine.py
executes a Plan; `mailcli fetch --dry-run` prints it.

Inputs for one folder (all keyed by the server UID of the current UIDVALIDITY):

- ``local_now``   uid -> flags of every cached message that has a UID (with a partial view,
                 ``cached=`` may stand for those the plan does not look at: see plan()).
- ``local_last``  uid -> flags both sides agreed on at the last sync (the merge base;
  its keys are the UIDs known at the last sync). There is one base for both sides
  ("remote_last" == "local_last"): a record is written only once both sides agree,
  so the two can never differ.
- ``remote_now``  uid -> flags on the server. With ``remote_full=True`` it lists every
  message (a full flag scan): a known UID missing from it was expunged. With
  ``remote_full=False`` (CONDSTORE/QRESYNC) it lists only the messages changed or
  added since the last HIGHESTMODSEQ; a known UID not in it is unchanged (its flags
  are still ``local_last[uid]``) unless it is in ``vanished``.
- ``vanished``    UIDs the server reports expunged (QRESYNC VANISHED). Without
  QRESYNC the account layer does a full scan instead (see Account.changes_since).
- ``local_only``  local ids of cached messages without a UID that should go to the
  server (appended while offline). The engine decides which messages qualify;
  orphans kept after a UIDVALIDITY change are not passed here.

Rules, per message:

- On the server, not known, not local -> Download (batched in one action).
- Known, gone from the server -> DeleteLocal (the server wins: the local copy is
  removed even if its flags changed locally; that lost change becomes a Conflict note).
- Cached with a UID but not known (stored, then a crash before the record) and not on
  the server -> DeleteLocal (the copy came from the server, which expunged it).
- Known, gone locally, still on the server -> DeleteRemote (a local delete wins over
  a server flag change, noted). Gone on both sides -> the record is forgotten.
- Present on both sides -> per-flag three-way merge (merge_flags): a flag changed on
  one side only takes that side's value. With a base, a single boolean flag cannot
  conflict (if the sides differ, exactly one of them changed it), so the merge is
  exact. Without a base (a download recorded locally but not yet in the sync state,
  e.g. after a crash, or after a UIDVALIDITY rematch) the sides are unioned: a flag
  set on either side wins over its absence, except \\Deleted, which is kept only if
  both sides have it (a deletion mark needs agreement).
- A UID that is local, unknown, and not reported by a partial (CONDSTORE) server view
  cannot be judged: it is left alone with a note.
- ``local_only`` messages -> UploadLocal.

Guardrails (the folder is stopped: ``Plan.blocked`` holds the reason, the actions are
still listed for --dry-run, the engine executes none of them):

- Deleting more than ``Limits.allowed(folder size)`` messages on either side, i.e.
  more than max(50 % of the folder, 10) or more than 500, unless ``force=True``.
- An empty local store (no cached message at all, no local-only message) while the
  sync state knows messages is never read as "the user deleted everything": the
  state is discarded (``Plan.forget``) and every server message is downloaded again;
  nothing is deleted on either side. ``force`` does not change this. (To empty a
  folder on purpose, delete on the server or with `mailcli delete`, which is journaled.)

UIDVALIDITY changes are handled before planning by `rematch()`: it maps cached
messages to the new UIDs by (Message-ID, size), or by (size, digest of the bytes) for
messages without a Message-ID, downloads the rest and deletes nothing.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from mailcli.model import Flag, Flags
from mailcli.sync.actions import (
    Action,
    Conflict,
    DeleteLocal,
    DeleteRemote,
    Download,
    PullFlags,
    PushFlags,
    UploadLocal,
    format_flags,
)
from mailcli.sync.limits import LIMITS, Limits

__all__ = ["LIMITS", "Limits"]   # re-exported: they lived here



_A = TypeVar("_A")


@dataclass(frozen=True)
class Plan:
    """Everything one folder's sync will do, and what the sync state becomes.

    Attributes:
        folder: the folder name.
        actions: in execution order: DeleteLocal, PullFlags, PushFlags, DeleteRemote,
            UploadLocal, Download (each group by ascending uid / local id).
        synced: uid -> merged flags to record once that uid's flag actions succeeded
            (only where the record changes, including "both sides changed alike").
            A Download records the flags it fetched; a successful delete drops the record.
        forget: uids whose record is dropped at once (gone from both sides, or the
            whole state after an empty local store).
        notes: Conflict notes for the report and the log.
        blocked: why the folder is stopped (guardrail), or None.
    """

    folder: str
    actions: tuple[Action, ...] = ()
    synced: Mapping[int, Flags] = field(default_factory=dict)
    forget: frozenset[int] = frozenset()
    notes: tuple[Conflict, ...] = ()
    blocked: str | None = None

    def of_type(self, kind: type[_A]) -> list[_A]:
        """The actions of one kind, in plan order."""
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def downloads(self) -> tuple[int, ...]:
        return tuple(uid for a in self.actions if isinstance(a, Download) for uid in a.uids)

    @property
    def empty(self) -> bool:
        """Nothing to execute and nothing to record."""
        return not (self.actions or self.synced or self.forget)

    def __str__(self) -> str:
        head = f"{self.folder}: " + (f"BLOCKED: {self.blocked}" if self.blocked
                                      else f"{len(self.actions)} action(s)")
        lines = [head] + [f"  {a}" for a in self.actions] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def merge_flags(base: Flags | None, local: Flags, remote: Flags) -> Flags:
    """Three-way merge of one message's flags (see the module docstring for the rule)."""
    if base is None:
        merged = set(local | remote)
        if not (Flag.DELETED in local and Flag.DELETED in remote):
            merged.discard(Flag.DELETED)
        return frozenset(merged)
    out: set[Flag] = set()
    for flag in Flag:
        in_local, in_remote = flag in local, flag in remote
        # Sides differ -> exactly one changed it: take the one that is not the base.
        value = in_remote if in_local == (flag in base) else in_local
        if value:
            out.add(flag)
    return frozenset(out)


class _Unknown:
    """Marker: a partial server view says nothing about this uid."""


_UNKNOWN = _Unknown()


def plan(folder: str,
         local_now: Mapping[int, Flags],
         local_last: Mapping[int, Flags],
         remote_now: Mapping[int, Flags],
         *,
         remote_full: bool,
         vanished: Collection[int] = (),
         local_only: Collection[int] = (),
         force: bool = False,
         limits: Limits = LIMITS,
         cached: int | None = None) -> Plan:
    """Plan one folder's two-way sync. Pure; see the module docstring for every rule.

    Args:
        folder: folder name, copied into every action.
        local_now: uid -> current local flags of cached messages that have a UID.
        local_last: uid -> flags at the last sync (the known UIDs and the merge base).
        remote_now: uid -> server flags: all messages if remote_full, else only the
            changed/new ones since the last HIGHESTMODSEQ.
        remote_full: whether remote_now is a complete listing.
        vanished: UIDs expunged on the server (QRESYNC); absent whatever else says.
        local_only: local ids of UID-less local messages to upload.
        force: bypass the deletion guardrail (not the empty-store rule).
        limits: the guardrail thresholds.
        cached: with a partial view, the caller may pass only the cached messages the
            plan looks at (those in remote_now or vanished, and those whose flags differ
            from local_last); `cached` is then how many cached messages have a UID, for
            the guardrail's folder size. None: local_now holds every one.

    Returns:
        The Plan; ``plan.blocked`` is set when the guardrail stopped the folder.
    """
    gone = frozenset(vanished)

    def remote(uid: int) -> Flags | None | _Unknown:
        if uid in gone:
            return None
        if uid in remote_now:
            return remote_now[uid]
        if remote_full:
            return None
        return local_last[uid] if uid in local_last else _UNKNOWN

    if not local_now and not local_only and local_last:
        present = [uid for uid in sorted(set(local_last) | set(remote_now))
                   if remote(uid) is not None]
        return _redownload(folder, local_last, present)

    pulls: list[Action] = []
    pushes: list[Action] = []
    del_local: list[Action] = []
    del_remote: list[Action] = []
    downloads: list[int] = []
    synced: dict[int, Flags] = {}
    forget: set[int] = set()
    notes: list[Conflict] = []

    for uid in sorted(_candidates(local_now, local_last, remote_now, gone, remote_full)):
        base = local_last.get(uid)
        loc = local_now.get(uid)
        rem = remote(uid)
        if isinstance(rem, _Unknown):
            notes.append(Conflict(folder, uid, "cached with no sync record and not reported "
                                               "by the server; left alone"))
        elif loc is None and rem is None:
            if base is not None:
                forget.add(uid)
        elif loc is None:
            assert rem is not None
            if base is None:
                downloads.append(uid)
            else:
                del_remote.append(DeleteRemote(folder, uid))
                if rem != base:
                    notes.append(Conflict(folder, uid, "changed on the server but deleted "
                                                       "locally; deleting on the server"))
        elif rem is None:
            del_local.append(DeleteLocal(folder, uid))
            if base is not None and loc != base:
                notes.append(Conflict(folder, uid, "flags changed locally but expunged on "
                                                   "the server; local change dropped"))
        else:
            merged = merge_flags(base, loc, rem)
            if base is None and loc != rem:
                notes.append(Conflict(folder, uid, f"no sync record; local "
                                                   f"{format_flags(loc)} and server "
                                                   f"{format_flags(rem)} merged to "
                                                   f"{format_flags(merged)}"))
            if merged != loc:
                pulls.append(PullFlags(folder, uid, merged))
            if merged != rem:
                pushes.append(PushFlags(folder, uid, add=merged - rem, remove=rem - merged))
            if merged != base:
                synced[uid] = merged

    actions: list[Action] = [*del_local, *pulls, *pushes, *del_remote]
    actions += [UploadLocal(folder, lid) for lid in sorted(local_only)]
    if downloads:
        actions.append(Download(folder, tuple(downloads)))

    if cached is None or remote_full:
        size = len(set(local_last) | set(local_now) | set(remote_now))
    else:
        size = cached + len(remote_now.keys() - local_now.keys())
    blocked = None if force else _guardrail(folder, len(del_local), len(del_remote),
                                            size, limits)
    return Plan(folder, tuple(actions), synced, frozenset(forget), tuple(notes), blocked)


def _candidates(local_now: Mapping[int, Flags], local_last: Mapping[int, Flags],
                remote_now: Mapping[int, Flags], gone: frozenset[int],
                remote_full: bool) -> set[int]:
    """The UIDs the plan must look at. With a full server listing: every one. With a
    partial view (CONDSTORE/QRESYNC changes) a UID the server did not report, that was
    not expunged and whose local flags are still those of the last sync has nothing to do
    (the merge of three equal flag sets is that set): only the others are looked at, so
    an incremental sync of a large folder costs what changed, not the folder's size."""
    if remote_full:
        return set(local_last) | set(local_now) | set(remote_now)
    out = set(remote_now)
    out.update(uid for uid, flags in local_now.items() if local_last.get(uid) != flags)
    out.update(local_last.keys() - local_now.keys())
    if gone:
        out.update(uid for uid in gone if uid in local_now or uid in local_last)
    return out


def _guardrail(folder: str, n_local: int, n_remote: int, size: int,
               limits: Limits) -> str | None:
    allowed = limits.allowed(size)
    for count, where in ((n_remote, "on the server"), (n_local, "locally")):
        if count > allowed:
            return (f"would delete {count} of {size} messages {where} in {folder} "
                    f"(limit {allowed}); run again with --force if that is intended")
    return None


def _redownload(folder: str, local_last: Mapping[int, Flags], present: list[int]) -> Plan:
    """The empty-local-store plan: forget the state, download what the server has."""
    actions: tuple[Action, ...] = (Download(folder, tuple(present)),) if present else ()
    note = Conflict(folder, None, f"local store is empty but {len(local_last)} messages "
                                  f"were synced before; downloading again, deleting nothing")
    return Plan(folder, actions, {}, frozenset(local_last), (note,), None)


# ---------------------------------------------------------------- UIDVALIDITY change


@dataclass(frozen=True)
class CachedCopy:
    """A cached message as rematch() sees it: local id, old uid, Message-ID, byte size,
    and (only where the Message-ID cannot match) the digest of its CRLF-normalised bytes."""

    local_id: int
    message_id: str | None
    size: int
    old_uid: int | None = None
    digest: str | None = None


@dataclass(frozen=True)
class ServerCopy:
    """A server message after the UIDVALIDITY change: new uid, Message-ID, RFC822.SIZE,
    and optionally the digest of its CRLF-normalised bytes (see CachedCopy)."""

    uid: int
    message_id: str | None
    size: int
    digest: str | None = None


@dataclass(frozen=True)
class Rematch:
    """The outcome of rematch(): nothing in it deletes anything.

    Attributes:
        matched: local id -> new uid (the engine rewrites the cached uid, then plans
            with an empty ``local_last`` for these, so flags merge without a base and
            no flag set on either side is lost).
        download: the server messages no cached copy matched, or None.
        orphans: local ids with no server match; kept in the cache without a uid and
            reported (they may be messages expunged meanwhile, so they are not uploaded).
    """

    folder: str
    matched: Mapping[int, int]
    download: Download | None
    orphans: tuple[int, ...]

    def __str__(self) -> str:
        n_down = len(self.download.uids) if self.download else 0
        return (f"{self.folder}: UIDVALIDITY changed; re-matched {len(self.matched)} cached "
                f"message(s), {n_down} to download, {len(self.orphans)} kept locally "
                f"without a server copy, nothing deleted")


def _msgid_key(message_id: str | None) -> str | None:
    if not message_id:
        return None
    key = "".join(message_id.split()).strip("<>")
    return key or None


def rematch(folder: str, cached: Collection[CachedCopy],
            server: Collection[ServerCopy]) -> Rematch:
    """Map cached messages to the new UIDs after a UIDVALIDITY change. Pure.

    Two messages match when their Message-IDs (angle brackets and whitespace ignored)
    and sizes are equal, or else when both carry a digest and their sizes and digests
    are equal (identical bytes: messages without a Message-ID). Duplicates with the same
    key are paired in order (old uid, then local id, against new uid). A message that
    matches neither way is downloaded and the cached one kept as an orphan (a possible
    duplicate, never a loss).
    """
    by_key: dict[tuple[str, int], list[ServerCopy]] = {}
    by_digest: dict[tuple[str, int], list[ServerCopy]] = {}
    for s in sorted(server, key=lambda s: s.uid):
        key = _msgid_key(s.message_id)
        if key is not None:
            by_key.setdefault((key, s.size), []).append(s)
        if s.digest is not None:
            by_digest.setdefault((s.digest, s.size), []).append(s)
    matched: dict[int, int] = {}
    taken: set[int] = set()
    orphans: list[int] = []
    order = sorted(cached, key=lambda c: (c.old_uid is None, c.old_uid or 0, c.local_id))

    def pick(candidates: list[ServerCopy] | None) -> int | None:
        while candidates:
            uid = candidates.pop(0).uid
            if uid not in taken:
                return uid
        return None

    for c in order:
        key = _msgid_key(c.message_id)
        uid = pick(by_key.get((key, c.size))) if key is not None else None
        if uid is None and c.digest is not None:
            uid = pick(by_digest.get((c.digest, c.size)))
        if uid is not None:
            matched[c.local_id] = uid
            taken.add(uid)
        else:
            orphans.append(c.local_id)
    taken = set(matched.values())
    rest = tuple(sorted(s.uid for s in server if s.uid not in taken))
    return Rematch(folder, matched, Download(folder, rest) if rest else None,
                   tuple(sorted(orphans)))
