"""``email.utils.getaddresses`` without its per-character parser for the usual address lists.

The stdlib's address parser (``email._parseaddr``) walks a header one character at a time
in Python: ~40 us for a one-address From, and every message the index stores has its
From, To and Cc parsed twice (for the index, then for the address book). Nearly all real
lists are plain mailboxes: ``addr``, ``<addr>``, ``Name Words <addr>`` or
``"Quoted Name" <addr>``, comma separated. :func:`getaddresses` reads exactly those with
one regular expression and hands anything else (comments, groups, quoted local parts,
domain literals, odd spacing, empty items, obsolete routes...) to the stdlib, so the
answer is always the stdlib's *lenient* one (tests/unit/test_addresses.py compares the
two on generated lists made of every special character).

Lenient on every Python: newer ones (3.13, 3.12.6+, 3.11.10+ and distribution backports)
parse strictly by default and answer ``[('', '')]`` for a whole list when, e.g., it ends
with a comma; a mail client indexing what people actually send wants the addresses
(``strict=False``, which is the older Pythons' only behaviour).
"""
from __future__ import annotations

import email.utils
import re

__all__ = ["getaddresses"]

# A dot-atom of RFC 5322 atext (ASCII): what the stdlib's getaddrspec gives back unchanged.
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_ADDR = _DOT_ATOM + "@" + _DOT_ATOM
# A display-name word as the stdlib's phrase reader takes it: anything but its specials,
# blanks and line ends ('.' is allowed in phrases, obs-phrase).
_WORD = r'[^()<>@,:;"\[\] \t\r\n\\]+'
_MAILBOX = (
    r"(?:(?P<plain>" + _ADDR + r")"
    r"|(?:\"(?P<quoted>[^\"\\\r\n]*)\"[ \t]*|(?P<phrase>" + _WORD + r"(?:[ \t]+" + _WORD + r")*)[ \t]*)?"
    r"<(?P<angle>" + _ADDR + r")>)"
)
def _stdlib_getaddresses(values: list[str]) -> list[tuple[str, str]]:
    """email.utils.getaddresses, lenient where the Python also knows strict parsing."""
    if getattr(email.utils, "supports_strict_parsing", False):
        return email.utils.getaddresses(values, strict=False)
    return email.utils.getaddresses(values)


_ITEM = re.compile(r"[ \t]*" + _MAILBOX + r"[ \t]*(?:,|\Z)")
_BLANKS = re.compile(r"[ \t]+")


def getaddresses(value: str) -> list[tuple[str, str]]:
    """``email.utils.getaddresses([value])`` (lenient): (display name, address) pairs."""
    out: list[tuple[str, str]] = []
    pos = 0
    end = len(value)
    while pos < end:
        m = _ITEM.match(value, pos)
        if m is None:   # (even trailing blanks: "a@b, " is [a@b, ('', '')] to the stdlib)
            return _stdlib_getaddresses([value])
        plain = m.group("plain")
        if plain is not None:
            out.append(("", plain))
        else:
            quoted, phrase = m.group("quoted"), m.group("phrase")
            name = quoted if quoted is not None else _BLANKS.sub(" ", phrase) if phrase else ""
            out.append((name, m.group("angle")))
        pos = m.end()
    if not out:
        return _stdlib_getaddresses([value])
    return out
