"""The address book for both shells: the index's contacts (mailcli.store.contacts) merged
with what `address_book_command` ([general]) prints, the user's own addresses left out.

`contacts(query)` lists them best first; `complete_address(prefix)` is the composer's
completion; `resolve_address("ali")` turns a fragment into the one address it means, or
a UsageError (exit 2) listing the candidates.
"""
from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from email.utils import parseaddr
from typing import TYPE_CHECKING

from mailcli.errors import UsageError
from mailcli.model import Contact

if TYPE_CHECKING:
    from mailcli.service.core import ServiceCore

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT = 10.0     # seconds for address_book_command
COMMAND_MAX_LINES = 100_000
CANDIDATES_SHOWN = 10


def parse_address_lines(text: str) -> list[Contact]:
    """`address<TAB>name` lines (khard --parsable, abook --mutt-query, notmuch address
    with --output=recipients gives 'Name <addr>': read too); lines without an address,
    such as a header line, are skipped."""
    out = []
    for line in text.splitlines()[:COMMAND_MAX_LINES]:
        if not line.strip():
            continue
        if "\t" in line:
            addr, _, name = line.partition("\t")
            name = name.split("\t")[0]
        else:
            name, addr = parseaddr(line)
        addr = addr.strip()
        if "@" not in addr or any(c.isspace() for c in addr) or len(addr) > 320:
            continue
        out.append(Contact(name=" ".join(name.split())[:200], address=addr))
    return out


class Contacts:
    def __init__(self, core: ServiceCore, is_own: Callable[[str], bool]) -> None:
        self.core = core
        self.is_own = is_own

    def _external(self) -> list[Contact]:
        command = self.core.config.general.address_book_command
        if not command:
            return []
        try:
            proc = subprocess.run(command, shell=True, capture_output=True,
                                  timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            logger.warning("address_book_command failed: %s", exc)
            return []
        if proc.returncode != 0:
            logger.warning("address_book_command exited with status %d", proc.returncode)
        return parse_address_lines(proc.stdout.decode("utf-8", errors="replace"))

    def _all(self) -> list[Contact]:
        merged: dict[str, Contact] = {}
        for c in self.core.store.contacts():
            merged[c.address.lower()] = c
        for c in self._external():
            key = c.address.lower()
            known = merged.get(key)
            if known is None:
                merged[key] = c
            elif c.name and not known.name:
                merged[key] = Contact(c.name, known.address, known.written, known.seen,
                                      known.last_seen)
        return [c for c in merged.values() if not self.is_own(c.address)]

    def ranked(self, query: str = "") -> list[tuple[int, Contact]]:
        from mailcli.store.contacts import rank

        return rank(self._all(), query)

    def contacts(self, query: str = "", limit: int = 0) -> list[Contact]:
        """Contacts matching `query` (name, address, fuzzy prefix), best first."""
        hits = [c for _tier, c in self.ranked(query)]
        return hits[:limit] if limit else hits

    def complete_address(self, prefix: str, limit: int = 10) -> list[Contact]:
        """Completion for a To/Cc/Bcc field: the best `limit` contacts for `prefix`."""
        return self.contacts(prefix, limit) if prefix.strip() else []

    def resolve_address(self, text: str) -> str:
        """An address as given ('a@b', 'Name <a@b>'), or the one contact a fragment such as
        'ali' means (the best tier of matches must hold exactly one); UsageError listing
        the candidates otherwise."""
        if "@" in text:
            return text
        hits = self.ranked(text)
        if not hits:
            raise UsageError(f"not an email address, and no contact matches {text!r}",
                             hint="give the full address (`mailcli contacts` lists the known ones)")
        best = [c for tier, c in hits if tier == hits[0][0]]
        if len(best) == 1:
            return best[0].display()
        shown = ", ".join(c.display() for c in best[:CANDIDATES_SHOWN])
        more = f" and {len(best) - CANDIDATES_SHOWN} more" if len(best) > CANDIDATES_SHOWN else ""
        raise UsageError(f"{text!r} matches {len(best)} contacts: {shown}{more}",
                         hint="give more of the name or the full address")
