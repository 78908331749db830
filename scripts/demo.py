"""The README's first command: a throwaway Dovecot with sample mail, a config for it,
and a real `mailcli fetch` against it (then `list` and `show`, or the TUI)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers.dovecot import PASSWORD, Dovecot  # noqa: E402

SAMPLES = [
    ("Ada Lovelace <ada@example.org>", "Notes on the Analytical Engine",
     "Here are my notes. The engine might compose elaborate pieces of music.\n"),
    ("Grace Hopper <grace@example.org>", "Re: the nanosecond",
     "I brought a piece of wire 11.8 inches long: that is a nanosecond.\n"),
    ("Jürgen Müller <jm@example.de>", "Grüße aus Köln — Ümlaute im Betreff",
     "Schöne Grüße! Non-ASCII headers and bodies survive the round trip.\n"),
    ("Linus <linus@example.org>", "Patch review", "Looks good to me. Applied.\n"),
    ("Evil <evil@example.org>", "Terminal \x1b]0;pwned\x07escape \x1b[31mred",
     "This body tries to \x1b[2Jclear your screen; mailcli neutralizes it.\n"),
]


def sample_messages() -> list[bytes]:
    out = []
    now = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    for i, (frm, subject, body) in enumerate(SAMPLES):
        msg = EmailMessage()
        msg["From"] = frm
        msg["To"] = "demo@example.test"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now + timedelta(hours=i * 7))
        msg["Message-ID"] = make_msgid(domain="demo.example")
        msg.set_content(body)
        if i == 3:
            msg.add_attachment(b"diff --git a/x b/x\n", maintype="text", subtype="x-diff",
                               filename="fix.patch")
        out.append(msg.as_bytes())
    return out


def main() -> int:
    tui = "--tui" in sys.argv
    keep = "--keep" in sys.argv
    print("starting a throwaway Dovecot on 127.0.0.1 ...", flush=True)
    server = Dovecot.start()
    work = Path(tempfile.mkdtemp(prefix="mailcli-demo-"))
    try:
        user = server.add_user("demo")
        server.seed(user, sample_messages())
        server.seed(user, sample_messages()[:2], folder="Archive/2026")
        pop_user = server.add_user("demo-pop")
        server.seed(pop_user, sample_messages()[:3])
        config = work / "config.toml"
        config.write_text(f"""
[accounts.demo]
protocol = "imap"
host = "127.0.0.1"
port = {server.ports.imaps}
security = "tls"
tls_ca_file = "{server.ca_file}"
username = "{user}"
password_env = "DEMO_PASSWORD"
email = "demo@example.test"
name = "Demo User"

[accounts.demo-pop]
protocol = "pop3"
host = "127.0.0.1"
port = {server.ports.pop3s}
security = "tls"
tls_ca_file = "{server.ca_file}"
username = "{pop_user}"
password_env = "DEMO_PASSWORD"
leave_on_server = true
""")
        env = dict(os.environ, MAILCLI_CONFIG=str(config), MAILCLI_DATA=str(work / "data"),
                   DEMO_PASSWORD=PASSWORD)
        mailcli = [str(Path(sys.executable).parent / "mailcli")]
        steps = [["fetch"], ["folders"], ["list"], ["show", "1"]]
        for step in steps:
            print(f"\n$ mailcli {' '.join(step)}", flush=True)
            rc = subprocess.run(mailcli + step, env=env).returncode
            if rc != 0:
                print(f"(exit status {rc})")
                if step == ["fetch"]:
                    return rc
        if tui:
            subprocess.run(mailcli + ["tui"], env=env)
        mail = work / "data" / "mail"
        if keep:
            print(f"\nThe cache is a plain Maildir, kept: {mail}\n"
                  f"  neomutt -f {mail / 'demo' / 'INBOX'}\n"
                  f"  MAILCLI_CONFIG={config} MAILCLI_DATA={work / 'data'} "
                  f"{mailcli[0]} list     (offline: the demo server is gone)\n"
                  f"Remove it with: rm -r {work}")
        else:
            print("\nThe cache was a plain Maildir (one directory per folder, readable by "
                  "neomutt and notmuch);\nthe demo removed it with its server. "
                  "`./scripts/demo --keep` keeps it to look at.")
        return 0
    finally:
        server.stop()
        if not keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
