"""Landing records: which files in a Maildir's new/ and cur/ this program put there and
has not yet indexed.

A store batch renames its files into place, then commits their index rows
(store/facade.py Store.batch, store/maildir.py batch). A crash in between leaves files
without rows, which the next reconciliation (store/reconcile.py) must not take for mail
another program saved there: a file carrying a server UID (``,U=``) is a download, and
if the server has expunged that UID since, it is to be deleted here, not uploaded again
as new local mail (that would bring back what another client deleted).

So just before the renames, each Maildir receiving files with a ``,U=`` gets a record in
its tmp/ (``.mailcli-landing-<unique name>``, 0600): those files' base names, one per line,
made durable with the files. The batch removes it once the rows are committed (or the
files are gone again); a reconciliation that finds one uses it and then removes it.
Maildir readers ignore tmp/; clean_tmp leaves records alone.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PREFIX = ".mailcli-landing-"


def write(bases: dict[str, list[str]], unique: str) -> list[str]:
    """Write a record ``tmp/<PREFIX><unique>`` into each Maildir of `bases` (Maildir path
    -> base names of the files with a ``,U=`` UID it receives); `unique` is a fresh
    Maildir unique name, so no stale record of an earlier process can be in the way.
    Returns the records' paths (not yet fsynced: the caller makes them durable)."""
    paths: list[str] = []
    try:
        for root, names in bases.items():
            path = f"{root}/tmp/{PREFIX}{unique}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            paths.append(path)
            try:
                view = memoryview("\n".join(names).encode("utf-8", "surrogateescape"))
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
    except BaseException:
        drop(paths)
        raise
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
