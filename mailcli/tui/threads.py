"""Threading envelopes by References / In-Reply-To into display order (pure, no UI).

A simplified JWZ threading: each message's parent is the nearest ancestor in its
References chain (In-Reply-To first) that is present in the set. Threads are ordered by
their newest message (newest first), replies under their parent oldest first. Returns
(envelope, depth) pairs in display order.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from mailcli.model import Envelope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(env: Envelope) -> datetime:
    d = env.date
    if d is None:
        return _EPOCH
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def thread_order(envelopes: list[Envelope]) -> list[tuple[Envelope, int]]:
    """Envelopes in threaded display order with their depth (0 for a thread root)."""
    by_mid: dict[str, Envelope] = {}
    for env in envelopes:
        if env.message_id and env.message_id not in by_mid:
            by_mid[env.message_id] = env
    parent: dict[int, int] = {}
    for env in envelopes:
        chain = ([env.in_reply_to] if env.in_reply_to else []) + list(reversed(env.references))
        for mid in chain:
            p = by_mid.get(mid)
            if p is not None and p.id != env.id:
                parent[env.id] = p.id
                break
    # break cycles: walk up; if we come back to ourselves, drop the link
    for env in envelopes:
        seen = {env.id}
        cur = parent.get(env.id)
        while cur is not None:
            if cur in seen:
                parent.pop(env.id, None)
                break
            seen.add(cur)
            cur = parent.get(cur)
    children: dict[int | None, list[Envelope]] = defaultdict(list)
    for env in envelopes:
        children[parent.get(env.id)].append(env)
    latest: dict[int, datetime] = {}

    def newest(env: Envelope) -> datetime:
        if env.id not in latest:
            stack, order = [env], []
            while stack:
                e = stack.pop()
                order.append(e)
                stack.extend(children.get(e.id, ()))
            latest[env.id] = max(_when(e) for e in order)
        return latest[env.id]

    out: list[tuple[Envelope, int]] = []
    roots = sorted(children.get(None, []), key=lambda e: (newest(e), e.id), reverse=True)
    for root in roots:
        stack: list[tuple[Envelope, int]] = [(root, 0)]
        while stack:
            env, depth = stack.pop()
            out.append((env, depth))
            kids = sorted(children.get(env.id, ()), key=lambda e: (_when(e), e.id))
            stack.extend((k, depth + 1) for k in reversed(kids))
    return out
