"""A small OAuth2 authorization server on 127.0.0.1 for tests (stdlib http.server).

Owns: the authorization endpoint (code flow, PKCE S256 required, consent given or denied
by the test, a wrong `state` on demand), the token endpoint (authorization_code,
refresh_token — `invalid_grant` once a grant is revoked — and the device_code grant with
`authorization_pending` and `slow_down`), the RFC 8628 device authorization endpoint and
RFC 7662 introspection (POST, what Dovecot's oauth2 passdb and the SMTP fixture ask).

"Consent" is the test's: `login_as` is the user who signs in, `consent = False` denies.
Access tokens really expire (introspection says inactive), so refresh paths are real.
Every request is recorded in `requests` (path, form) for assertions.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT_ID = "mailcli-test-client"


@dataclass
class Grant:
    username: str
    scope: str
    revoked: bool = False


@dataclass
class DeviceCode:
    user_code: str
    client_id: str
    scope: str
    polls: int = 0
    last_poll: float = 0.0
    interval: float = 0.0


@dataclass
class OAuth2Server:
    host: str = "127.0.0.1"
    login_as: str = "alice"
    consent: bool = True
    wrong_state: bool = False
    access_ttl: float = 3600.0
    device_interval: int = 1
    device_approve_after: int = 2          # polls answered authorization_pending first
    slow_down_once: bool = False
    slow_down_step: float = 5.0            # RFC 8628: the client adds 5 s per slow_down
    client_id: str = CLIENT_ID
    client_secret: str | None = None
    token_bytes: int = 24                  # random bytes per access token (long ones: 300)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)          # refresh token -> grant
    access: dict[str, tuple[Grant, float]] = field(default_factory=dict)  # token -> (grant, expiry)
    codes: dict[str, tuple[Grant, str, str]] = field(default_factory=dict)  # code -> grant, challenge, redirect
    devices: dict[str, DeviceCode] = field(default_factory=dict)
    poll_times: list[float] = field(default_factory=list)

    def start(self) -> "OAuth2Server":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                form = dict(urllib.parse.parse_qsl(url.query))
                server.requests.append((url.path, form))
                if url.path == "/authorize":
                    server._authorize(self, form)
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
                    form.setdefault("client_id", urllib.parse.unquote(cid))
                    form.setdefault("client_secret", urllib.parse.unquote(sec))
                path = urllib.parse.urlsplit(self.path).path
                server.requests.append((path, form))
                with server._lock:
                    status, body = {"/token": server._token, "/device": server._device,
                                    "/introspect": server._introspect}.get(
                        path, lambda f: (404, {"error": "not_found"}))(form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---------- URLs ----------
    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authorize_url(self) -> str:
        return self.base + "/authorize"

    @property
    def token_url(self) -> str:
        return self.base + "/token"

    @property
    def device_url(self) -> str:
        return self.base + "/device"

    @property
    def introspection_url(self) -> str:
        return self.base + "/introspect"

    # ---------- test controls ----------
    def reset(self, login_as: str = "alice") -> None:
        self.login_as, self.consent, self.wrong_state = login_as, True, False
        self.access_ttl, self.slow_down_once, self.device_approve_after = 3600.0, False, 2
        self.token_bytes = 24
        self.requests.clear()
        self.poll_times.clear()

    def issue(self, username: str, scope: str = "mail") -> tuple[str, str]:
        """A grant made out of band: (refresh_token, access_token)."""
        with self._lock:
            return self._new_tokens(Grant(username, scope))["refresh_token"], \
                self._last_access

    def revoke_all(self, username: str | None = None) -> None:
        with self._lock:
            for g in self.grants.values():
                if username is None or g.username == username:
                    g.revoked = True

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access = {t: (g, 0.0) for t, (g, _e) in self.access.items()}

    def token_requests(self, grant_type: str | None = None) -> list[dict[str, str]]:
        return [f for p, f in self.requests if p == "/token"
                and (grant_type is None or f.get("grant_type") == grant_type)]

    def active(self, token: str) -> str | None:
        """The username a live access token belongs to, else None."""
        with self._lock:
            entry = self.access.get(token)
        if entry is None or entry[0].revoked or entry[1] < time.time():
            return None
        return entry[0].username

    # ---------- endpoints ----------
    def _authorize(self, h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or not redirect.startswith("http://127.0.0.1:"):
            h.send_error(400, "bad client or redirect")
            return
        state = q.get("state", "")
        if self.wrong_state:
            state = "not-" + state
        if not self.consent:
            params = {"error": "access_denied", "error_description": "The user said no", "state": state}
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge") \
                or q.get("response_type") != "code":
            params = {"error": "invalid_request", "error_description": "PKCE S256 required", "state": state}
        else:
            code = secrets.token_urlsafe(16)
            with self._lock:
                self.codes[code] = (Grant(self.login_as, q.get("scope", "")), q["code_challenge"], redirect)
            params = {"code": code, "state": state}
        h.send_response(302)
        h.send_header("Location", redirect + "?" + urllib.parse.urlencode(params))
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _client_ok(self, f: dict[str, str]) -> bool:
        if f.get("client_id") != self.client_id:
            return False
        return self.client_secret is None or f.get("client_secret") == self.client_secret

    def _new_tokens(self, grant: Grant, refresh: str | None = None) -> dict[str, object]:
        access = "at-" + secrets.token_urlsafe(self.token_bytes)
        self._last_access = access
        self.access[access] = (grant, time.time() + self.access_ttl)
        body: dict[str, object] = {"access_token": access, "token_type": "Bearer",
                                   "expires_in": int(self.access_ttl), "scope": grant.scope}
        if refresh is None:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.grants[refresh] = grant
            body["refresh_token"] = refresh
        return body

    def _token(self, f: dict[str, str]) -> tuple[int, dict[str, object]]:
        if not self._client_ok(f):
            return 401, {"error": "invalid_client"}
        gt = f.get("grant_type")
        if gt == "authorization_code":
            entry = self.codes.pop(f.get("code", ""), None)
            if entry is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown code"}
            grant, challenge, redirect = entry
            verifier = f.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            if digest.decode() != challenge or f.get("redirect_uri") != redirect:
                return 400, {"error": "invalid_grant", "error_description": "PKCE or redirect mismatch"}
            return 200, self._new_tokens(grant)
        if gt == "refresh_token":
            grant = self.grants.get(f.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, self._new_tokens(grant, refresh=f["refresh_token"])
        if gt == "urn:ietf:params:oauth:grant-type:device_code":
            dev = self.devices.get(f.get("device_code", ""))
            if dev is None:
                return 400, {"error": "invalid_grant"}
            now = time.monotonic()
            self.poll_times.append(now)
            too_fast = dev.last_poll and now - dev.last_poll < dev.interval - 0.05
            dev.last_poll = now
            dev.polls += 1
            if too_fast or (self.slow_down_once and dev.polls == 1):
                dev.interval += self.slow_down_step
                return 400, {"error": "slow_down"}
            if not self.consent:
                return 400, {"error": "access_denied"}
            if dev.polls <= self.device_approve_after:
                return 400, {"error": "authorization_pending"}
            del self.devices[f["device_code"]]
            return 200, self._new_tokens(Grant(self.login_as, dev.scope))
        return 400, {"error": "unsupported_grant_type"}

    def _device(self, f: dict[str, str]) -> tuple[int, dict[str, object]]:
        if f.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client"}
        code, user_code = secrets.token_urlsafe(16), "WDJB-MJHT"
        self.devices[code] = DeviceCode(user_code, f["client_id"], f.get("scope", ""),
                                        interval=self.device_interval)
        return 200, {"device_code": code, "user_code": user_code,
                     "verification_uri": self.base + "/activate", "expires_in": 600,
                     "interval": self.device_interval}

    def _introspect(self, f: dict[str, str]) -> tuple[int, dict[str, object]]:
        entry = self.access.get(f.get("token", ""))
        if entry is None or entry[0].revoked or entry[1] < time.time():
            return 200, {"active": False}
        grant, expiry = entry
        return 200, {"active": True, "username": grant.username, "scope": grant.scope,
                     "exp": int(expiry), "client_id": self.client_id, "token_type": "Bearer"}
