"""`mailcli account authorize` end to end against the local authorization server: the
browser flow (PKCE S256, loopback redirect, checked state, the page the browser gets),
a denied consent, a wrong state, --no-browser in a real subprocess, the device flow
with authorization_pending and slow_down, and Ctrl+C leaving the old grant intact.
The "browser" is a thread that follows the redirects with urllib, like a real one."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

import pytest

from tests.cli.conftest import make_message
from tests.helpers import invoke
from tests.servers.dovecot import Dovecot
from tests.servers.oauth2 import OAuth2Server


def _grant_file(account: str = "work") -> Path:
    return Path(os.environ["MAILCLI_DATA"]) / "oauth2" / f"{account}.json"


def _error(stderr: str) -> str:
    (line,) = [x for x in stderr.splitlines() if x.startswith("mailcli: error: ")]
    return line


class Browser:
    """webbrowser.open stand-in: loads the URL in a thread, following redirects."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, *args: object, **kwargs: object) -> bool:
        self.opened.append(url)
        t = threading.Thread(target=self._load, args=(url,), daemon=True)
        t.start()
        self.threads.append(t)
        return True

    def _load(self, url: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=20) as resp:
                self.pages.append((resp.status, resp.read().decode()))
        except urllib.error.HTTPError as exc:
            self.pages.append((exc.code, exc.read().decode()))

    def wait(self) -> None:
        for t in self.threads:
            t.join(20)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    b = Browser()
    monkeypatch.setattr(webbrowser, "open", b.open)
    return b


def test_browser_flow_with_pkce_then_fetch_works(oauth: OAuth2Server, oauth2_dovecot: Dovecot,
                                                 oauth_account, browser: Browser) -> None:
    user = oauth_account("imap")
    r = invoke("account", "authorize", "work")
    browser.wait()
    assert r.exit_code == 0, r
    assert "signed in" in r.stdout and str(_grant_file()) in r.stdout
    # PKCE S256 and a state were sent; the server checked the verifier at the exchange
    (auth_q,) = [f for p, f in oauth.requests if p == "/authorize"]
    assert auth_q["code_challenge_method"] == "S256" and len(auth_q["state"]) >= 20
    assert re.match(r"http://127\.0\.0\.1:\d+/$", auth_q["redirect_uri"])
    (exchange,) = oauth.token_requests("authorization_code")
    assert len(exchange["code_verifier"]) >= 43
    # the browser got the friendly page
    assert browser.pages and browser.pages[-1][0] == 200 and "Signed in" in browser.pages[-1][1]
    f = _grant_file()
    assert f.stat().st_mode & 0o777 == 0o600 and f.parent.stat().st_mode & 0o777 == 0o700
    stored = json.loads(f.read_text())
    assert stored["refresh_token"] in oauth.grants
    # the stored grant logs in for real
    oauth2_dovecot.deliver(user, make_message("after authorize"))
    r = invoke("fetch", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["accounts"][0]["new"] == 1


def test_wrong_state_is_refused_and_nothing_is_written(oauth: OAuth2Server, oauth_account,
                                                       browser: Browser) -> None:
    oauth_account("imap")
    oauth.wrong_state = True
    r = invoke("account", "authorize", "work")
    browser.wait()
    assert r.exit_code == 3, r
    assert "state does not match" in _error(r.stderr)
    assert oauth.token_requests() == []            # the code was never exchanged
    assert not _grant_file().exists()
    assert browser.pages[-1][0] == 400 and "Sign-in failed" in browser.pages[-1][1]


def test_denied_consent_is_exit_3_and_keeps_the_old_grant(oauth: OAuth2Server, oauth_account,
                                                          browser: Browser, grant) -> None:
    user = oauth_account("imap")
    grant(user)
    before = _grant_file().read_bytes()
    oauth.consent = False
    r = invoke("account", "authorize", "work")
    browser.wait()
    assert r.exit_code == 3, r
    assert "denied" in _error(r.stderr) and "The user said no" in _error(r.stderr)
    assert _grant_file().read_bytes() == before


def test_interrupt_leaves_nothing_half_written(oauth: OAuth2Server, oauth_account, grant,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    user = oauth_account("imap")
    grant(user)
    before = _grant_file().read_bytes()

    def ctrl_c(url: str, *a: object, **k: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(webbrowser, "open", ctrl_c)
    r = invoke("account", "authorize", "work")
    assert r.exit_code == 130, r
    assert _grant_file().read_bytes() == before
    assert [p.name for p in _grant_file().parent.iterdir()] == ["work.json"]   # no temp files


def test_no_browser_prints_the_address(oauth: OAuth2Server, oauth_account,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    oauth_account("imap")
    proc = subprocess.Popen([sys.executable, "-m", "mailcli", "account", "authorize", "work",
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "BROWSER": "false"}, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        assert proc.stderr is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if line.startswith(oauth.authorize_url):
                url = line.strip()
        assert url, "no sign-in address printed"
        b = Browser()
        b.open(url)
        out, err = proc.communicate(timeout=30)
        b.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "signed in" in out
    assert "Opening" not in err
    assert json.loads(_grant_file().read_text())["refresh_token"] in oauth.grants


def test_device_flow_waits_for_the_user(oauth: OAuth2Server, oauth_account) -> None:
    oauth_account("imap")
    oauth.device_approve_after = 2
    r = invoke("account", "authorize", "work", "--device")
    assert r.exit_code == 0, r
    assert f"{oauth.base}/activate" in r.stderr and "WDJB-MJHT" in r.stderr
    polls = oauth.token_requests("urn:ietf:params:oauth:grant-type:device_code")
    assert len(polls) == 3                          # pending, pending, granted
    gaps = [b - a for a, b in zip(oauth.poll_times, oauth.poll_times[1:])]
    assert all(g >= 0.95 for g in gaps), gaps       # interval = 1 s honoured
    assert json.loads(_grant_file().read_text())["refresh_token"] in oauth.grants


def test_device_flow_slows_down_when_told(oauth: OAuth2Server, oauth_account,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from mailcli.oauth2 import flows

    oauth_account("imap")
    monkeypatch.setattr(flows, "SLOW_DOWN_STEP", 1.0)   # RFC: 5 s; the server uses the same step
    oauth.slow_down_step = 1.0
    oauth.slow_down_once = True
    oauth.device_approve_after = 2
    r = invoke("account", "authorize", "work", "--device")
    assert r.exit_code == 0, r
    gaps = [b - a for a, b in zip(oauth.poll_times, oauth.poll_times[1:])]
    assert gaps[0] >= 1.95, gaps                     # 1 s interval + 1 s after slow_down
    assert all(g >= 1.95 for g in gaps), gaps        # and it stays slower


def test_device_flow_denied_is_exit_3(oauth: OAuth2Server, oauth_account) -> None:
    oauth_account("imap")
    oauth.consent = False
    r = invoke("account", "authorize", "work", "--device")
    assert r.exit_code == 3, r
    assert "denied" in _error(r.stderr) and not _grant_file().exists()


def test_authorize_a_password_account_is_a_usage_error(write_config) -> None:
    write_config()
    r = invoke("account", "authorize", "work")
    assert r.exit_code == 2, r
    assert "does not use OAuth2" in _error(r.stderr)
