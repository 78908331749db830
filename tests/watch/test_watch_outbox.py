"""Mail composed while the SMTP server was unreachable waits in the Outbox; a running
`mailcli watch` sends it once the server is back (as `mailcli fetch` would), exactly once,
with one Sent copy, IMAP and POP3 alike."""
from __future__ import annotations

import email
import email.policy
import json
import time

import pytest

from tests.helpers import invoke
from tests.integration.test_send import own_smtp, smtp_extra  # noqa: F401 (a fixture)
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer
from tests.watch.helpers import WatchProcess, wait_for

pytestmark = [pytest.mark.dovecot, pytest.mark.smtp]


def message_ids(server: SmtpServer) -> list[str]:
    return [email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"]
            for m in server.messages]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_watch_sends_what_waits_in_the_outbox_once_the_server_is_back(
        dovecot: Dovecot, write_config, own_smtp: SmtpServer, protocol: str,
        monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SMTP_PW", SMTP_PASSWORD)
    extra = 'poll_interval = "1s"\n' + ("leave_on_server = true\n" if protocol == "pop3" else "")
    spec = write_config(protocol=protocol, extra=extra + smtp_extra(own_smtp))
    own_smtp.stop()
    r = invoke("compose", "--to", "r@example.test", "--subject", "written offline",
               "--body-file", "-", "--json", input="Hello\n")
    doc = json.loads(r.stdout)
    assert r.exit_code == 75 and doc["status"] == "queued", r.stderr
    with WatchProcess() as w:
        w.wait("started", timeout=20)
        time.sleep(1.5)                       # a poll or two with the server still down
        assert own_smtp.messages == []
        own_smtp.start()
        wait_for(lambda: message_ids(own_smtp), 10, "the queued message to be sent")
        time.sleep(2.5)                       # more polls: nothing is sent twice
        code, took = w.terminate()
    assert code == 0 and took < 5
    assert message_ids(own_smtp) == [doc["message_id"]]
    r = invoke("send", "--list", "--json")
    assert [row for row in json.loads(r.stdout) if row["state"] != "sent"] == []
    if protocol == "imap":
        assert len(dovecot.messages(spec.user, "Sent")) == 1
