"""Autoconfig documents are server text: entities refused, host names validated (nothing
odd reaches the config or the terminal), plaintext kept apart, OAuth2 mapped to a preset
only for a table provider's own host."""
from __future__ import annotations

from mailcli.discovery.autoconfig import parse

DOC = (b'<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x.test">'
       b'<incomingServer type="imap"><hostname>%s</hostname><port>993</port>'
       b'<socketType>SSL</socketType><username>%%EMAILLOCALPART%%</username>'
       b'<authentication>%s</authentication></incomingServer></emailProvider></clientConfig>')


def test_parse_fills_username_and_maps_oauth2_for_table_hosts() -> None:
    found = parse(DOC % (b"imap.gmail.com", b"OAuth2"), "me@x.test", "src")
    assert found is not None and found.incoming().username == "me"
    assert (found.oauth2, found.incoming().host) == ("google", "imap.gmail.com")
    found = parse(DOC % (b"imap.x.test", b"OAuth2"), "me@x.test", "src")
    assert found is not None and found.oauth2 is None   # no preset known for this host


def test_hostile_documents_give_nothing() -> None:
    assert parse(DOC % (b"imap.x.test\x1b]52;c;AAAA\x07", b"x"), "me@x.test", "s") is None
    assert parse(DOC % (b"evil host", b"x"), "me@x.test", "s") is None
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            + DOC.split(b"?>", 1)[1] % (b"imap.x.test", b"x"))
    assert parse(bomb, "me@x.test", "s") is None
    assert parse(b"not xml", "me@x.test", "s") is None
