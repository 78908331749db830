"""Secret redaction: every password mailcli obtains is registered here, and
`redact()` removes registered secrets and protocol credential lines from text
(used by the log filter and the --debug protocol traces)."""
from __future__ import annotations

import re

_secrets: set[str] = set()
# protocol keywords are matched in capitals only (as clients send them), so that prose
# such as "refused the login for 'bob'" is left readable
_CRED_TEXT = re.compile(
    r"(?P<pre>\b(?:LOGIN\s+\"?[^\s\"]+\"?|AUTHENTICATE\s+(?:PLAIN|XOAUTH2|OAUTHBEARER)|PASS"
    r"|AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER)))\s+\S+"
)


def register_secret(secret: str) -> None:
    if secret and len(secret) >= 3:
        _secrets.add(secret)


def redact(text: str) -> str:
    # longest first: a registered secret that is part of a longer one must not leave
    # the rest of the longer one readable
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "********")
    return _CRED_TEXT.sub(r"\g<pre> ********", text)
