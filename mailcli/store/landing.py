"""Landing records: which files in a Maildir's new/ and cur/ this program put there and
has not yet indexed.

A store batch renames its files into place, then commits their index rows
(store/facade.py Store.batch, store/maildir.py batch). A crash in between leaves files
without rows, which the next reconciliation (store/reconcile.py) must not take for mail
another program saved there: a file carrying a server UID (``,U=``) is a download, and
if the server has expunged that UID since, it is to be deleted here, not uploaded again
as new local mail (that would bring back what another client deleted).

So just before the renames, each Maildir receiving files with a ``,U=`` gets a record in
its tmp/ (``.mailcli-landing-<pid>.<n>``, 0600): those files' base names, one per line,
made durable with the files. The batch removes it once the rows are committed (or the
files are gone again); a reconciliation that finds one uses it and then removes it.
Maildir readers ignore tmp/; clean_tmp leaves records alone.
"""
from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from pathlib import Path

PREFIX = ".mailcli-landing-"

_UID_RE = re.compile(r",U=\d+")
_counter = itertools.count(1)


def write(finals: Iterable[str]) -> list[str]:
    """Write a record into the tmp/ of each Maildir that `finals` (absolute paths
    ``<maildir>/{new,cur}/<name>``) put a file with a ``,U=`` UID into; returns the
    records' paths (not yet fsynced: the caller makes them durable with the files)."""
    bases: dict[str, list[str]] = {}
    for final in finals:
        root, _sub, name = final.rsplit("/", 2)
        base = name.partition(":")[0]
        if _UID_RE.search(base):
            bases.setdefault(root, []).append(base)
    paths = []
    for root, names in bases.items():
        path = f"{root}/tmp/{PREFIX}{os.getpid()}.{next(_counter)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview("\n".join(names).encode("utf-8", "surrogateescape"))
            while view:
                view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        paths.append(path)
    return paths


def read(maildir: Path) -> tuple[set[str], list[str]]:
    """The base names the records in `maildir`'s tmp/ list, and the records' paths."""
    bases: set[str] = set()
    paths: list[str] = []
    try:
        it = os.scandir(maildir / "tmp")
    except FileNotFoundError:
        return bases, paths
    with it:
        for entry in it:
            if not entry.name.startswith(PREFIX):
                continue
            try:
                with open(entry.path, "rb") as f:
                    text = f.read().decode("utf-8", "surrogateescape")
            except OSError:
                continue
            bases.update(line for line in text.split("\n") if line)
            paths.append(entry.path)
    return bases, paths


def drop(paths: Iterable[str]) -> None:
    """Remove records whose files the index accounts for now (or that are gone)."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
