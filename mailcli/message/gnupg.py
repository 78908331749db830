"""The one door to GnuPG: the `gpg` binary run as a subprocess, its machine-readable
``--status-fd`` lines parsed into small results.

Why the binary and not a wrapper library: what mailcli needs is five calls (verify a
detached signature over exact bytes, decrypt, sign detached, encrypt, list keys by
address); running ``gpg --batch --status-fd 2 --with-colons`` directly is what the
wrappers do inside (python-gnupg parses the same status lines), costs no dependency,
and keeps the exact-bytes handling in our hands (a detached signature is verified over
the bytes given, never over a re-serialised copy). The key material, the agent and the
pinentry stay GnuPG's: ``GNUPGHOME`` (or the default home) is inherited; nothing here
ever sees a passphrase or a secret key.

Nothing here fetches from the network: keys are looked up in the local keyring only
(``--auto-key-locate clear,local``, ``--no-auto-key-retrieve``, ``--disable-dirmngr``,
whatever the user's gpg.conf says).

Every string taken from gpg (user IDs, error text) is *not* terminal-safe here: callers
pass it through mailcli.message.sanitize before display.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailcli.errors import PgpError, UsageError

logger = logging.getLogger(__name__)

__all__ = ["GnuPG", "PgpError", "SignatureCheck", "Decryption", "Key", "Run", "Status",
           "missing_key_error"]

GPG_TIMEOUT = 300.0        # seconds: a decrypt or sign may wait for the user's pinentry
_STATUS = "[GNUPG:] "

# the signature verdicts (show --json "pgp".signature, SPEC.md)
GOOD = "good"
BAD = "bad"
UNKNOWN_KEY = "unknown_key"
EXPIRED_KEY = "expired_key"
REVOKED_KEY = "revoked_key"
EXPIRED = "expired"
ERROR = "error"
PARTIAL = "partial"

# key validity letters of --with-colons (field 2) that gpg itself would encrypt to in
# batch mode: marginal, full, ultimate
_VALID = frozenset("mfu")


@dataclass(frozen=True)
class Status:
    """One ``[GNUPG:] KEYWORD args...`` line."""

    keyword: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: bytes
    status: tuple[Status, ...]
    log: str                      # gpg's human-readable stderr lines (not status)

    def first(self, *keywords: str) -> Status | None:
        for st in self.status:
            if st.keyword in keywords:
                return st
        return None

    def has(self, keyword: str) -> bool:
        return self.first(keyword) is not None

    def error_line(self) -> str:
        """gpg's last complaint, one line (for error messages)."""
        lines = [ln.removeprefix("gpg: ").strip() for ln in self.log.splitlines() if ln.strip()]
        return lines[-1] if lines else f"gpg exited with status {self.returncode}"


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one OpenPGP signature (see the constants above)."""

    verdict: str
    signer: str | None = None          # the signer's user ID as the keyring has it
    key_id: str | None = None          # 16 hex digits (the signing (sub)key)
    fingerprint: str | None = None     # of the primary key, when the key is known
    validity: str | None = None        # "ultimate", "full", "marginal", "unknown", "never"
    detail: str | None = None          # why, for bad/error verdicts


@dataclass(frozen=True)
class Decryption:
    ok: bool
    plaintext: bytes = b""
    signature: SignatureCheck | None = None   # a signature inside the encrypted data
    error: str | None = None


@dataclass(frozen=True)
class Key:
    fingerprint: str
    key_id: str
    validity: str                 # the --with-colons letter of the user ID matched
    uids: tuple[str, ...] = field(default_factory=tuple)
    can_encrypt: bool = False
    can_sign: bool = False

    @property
    def valid(self) -> bool:
        return self.validity in _VALID


def _unescape(text: str, percent: bool = True) -> str:
    """Status lines escape bytes as %XX, colon listings as \\xNN (`percent` False); undo
    it, then decode UTF-8."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    while i < len(raw):
        c = raw[i]
        if percent and c == 0x25 and _hex(raw[i + 1:i + 3]):   # %XX
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        elif not percent and c == 0x5C and raw[i + 1:i + 2] == b"x" and _hex(raw[i + 2:i + 4]):
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "replace")


def _hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(b) in "0123456789abcdefABCDEF" for b in pair)


class GnuPG:
    """`gpg` as mailcli calls it. `home` None: GNUPGHOME or gpg's default home."""

    def __init__(self, binary: str = "gpg", home: Path | None = None,
                 timeout: float = GPG_TIMEOUT, use_terminal: bool = True) -> None:
        self.binary = binary
        self.home = home
        self.timeout = timeout
        # True: a curses pinentry may ask on our terminal (GPG_TTY set from it when the
        # user has not); False (the TUI owns the screen): GPG_TTY is not set from it
        self.use_terminal = use_terminal

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    # ------------------------------------------------------------------ runner
    def _run(self, args: Sequence[str], data: bytes = b"") -> Run:
        # never the network, whatever the user's gpg.conf says: no key fetched while
        # verifying, no key located by WKD/keyserver, no dirmngr at all
        cmd = [self.binary, "--batch", "--no-tty", "--status-fd", "2", "--no-auto-key-retrieve",
               "--auto-key-locate", "clear,local", "--disable-dirmngr", "--no-greeting", "--yes"]
        if self.home is not None:
            cmd += ["--homedir", str(self.home)]
        env = dict(os.environ)
        if "GPG_TTY" not in env and self.use_terminal:
            # the agent's curses pinentry needs the terminal: ours, if we have one
            for stream in (0, 2):
                try:
                    env["GPG_TTY"] = os.ttyname(stream)
                    break
                except OSError:
                    continue
        env.setdefault("LC_MESSAGES", "C")
        try:
            proc = subprocess.run(cmd + list(args), input=data, capture_output=True,
                                  timeout=self.timeout, env=env, check=False)
        except FileNotFoundError:
            raise PgpError(f"cannot run {self.binary!r}: GnuPG is not installed",
                           hint="install gnupg (the `gpg` binary) for PGP/MIME") from None
        except subprocess.TimeoutExpired:
            raise PgpError(f"gpg did not finish within {self.timeout:.0f} s",
                           hint="is a pinentry waiting somewhere else?") from None
        status: list[Status] = []
        log: list[str] = []
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            if line.startswith(_STATUS):
                words = line[len(_STATUS):].split(" ")
                status.append(Status(words[0], tuple(words[1:])))
            else:
                log.append(line)
        logger.debug("gpg %s -> %d %s", " ".join(args[:2]), proc.returncode,
                     [s.keyword for s in status])
        return Run(proc.returncode, proc.stdout, tuple(status), "\n".join(log))

    # ------------------------------------------------------------------ reading
    def verify_detached(self, data: bytes, signature: bytes) -> SignatureCheck:
        """Check a detached signature over exactly `data` (the caller canonicalises)."""
        with tempfile.TemporaryDirectory(prefix="mailcli-gpg-") as tmp:
            sig = Path(tmp) / "signature.asc"
            sig.write_bytes(signature)
            run = self._run(["--verify", str(sig), "-"], data)
        return self._signature(run) or SignatureCheck(
            BAD, detail="the signature is malformed (gpg: " + run.error_line() + ")")

    def decrypt(self, data: bytes) -> Decryption:
        """Decrypt with the user's keys (the agent asks for the passphrase)."""
        run = self._run(["--decrypt"], data)
        if not run.has("DECRYPTION_OKAY") or run.has("DECRYPTION_FAILED"):
            if run.has("NO_SECKEY"):
                why = "no secret key for this message in your keyring"
            elif run.has("NODATA") and not run.has("ENC_TO"):
                why = "no OpenPGP data found"
            else:
                why = run.error_line()
            return Decryption(False, error=why)
        return Decryption(True, run.stdout, self._signature(run))

    def _signature(self, run: Run) -> SignatureCheck | None:
        """The first signature's verdict from a verify or decrypt run (None: none)."""
        validity = None
        trust = run.first("TRUST_ULTIMATE", "TRUST_FULLY", "TRUST_MARGINAL", "TRUST_UNDEFINED",
                          "TRUST_NEVER")
        if trust is not None:
            validity = {"TRUST_ULTIMATE": "ultimate", "TRUST_FULLY": "full",
                        "TRUST_MARGINAL": "marginal", "TRUST_UNDEFINED": "unknown",
                        "TRUST_NEVER": "never"}[trust.keyword]
        fpr = None
        valid = run.first("VALIDSIG")
        if valid is not None and valid.args:
            fpr = valid.args[-1] if len(valid.args) >= 10 else valid.args[0]
        verdicts = {"GOODSIG": GOOD, "BADSIG": BAD, "EXPKEYSIG": EXPIRED_KEY,
                    "REVKEYSIG": REVOKED_KEY, "EXPSIG": EXPIRED}
        st = run.first(*verdicts, "ERRSIG")
        if st is None:
            return None
        if st.keyword == "ERRSIG":
            key_id = st.args[0] if st.args else None
            rc = st.args[5] if len(st.args) > 5 else ""
            if rc == "9" or run.has("NO_PUBKEY"):
                fpr = st.args[6] if len(st.args) > 6 and st.args[6] != "-" else None
                return SignatureCheck(UNKNOWN_KEY, key_id=key_id, fingerprint=fpr)
            why = {"4": "unsupported algorithm"}.get(rc, f"gpg could not check it (code {rc})")
            return SignatureCheck(ERROR, key_id=key_id, detail=why)
        key_id = st.args[0] if st.args else None
        uid = _unescape(" ".join(st.args[1:])) if len(st.args) > 1 else None
        verdict = verdicts[st.keyword]
        if verdict == GOOD and run.has("BADSIG"):   # never good when any signature is bad
            verdict = BAD
        detail = "the message was changed after it was signed" if verdict == BAD else None
        return SignatureCheck(verdict, uid or None, key_id, fpr if verdict != BAD else None,
                              validity if verdict != BAD else None, detail)

    # ------------------------------------------------------------------ writing
    def sign_detached(self, data: bytes, signer: str) -> tuple[bytes, str]:
        """An ASCII-armoured detached signature over `data` by `signer` (a fingerprint);
        returns it and the hash algorithm's micalg name (``pgp-sha256``)."""
        run = self._run(["--armor", "--detach-sign", "--local-user", signer], data)
        created = run.first("SIG_CREATED")
        if run.returncode != 0 or created is None or not run.stdout:
            raise PgpError(f"gpg could not sign as {signer}: {run.error_line()}")
        algo = created.args[2] if len(created.args) > 2 else "8"
        return run.stdout, "pgp-" + _HASHES.get(algo, "sha256")

    def encrypt(self, data: bytes, recipients: Sequence[str], hidden: Sequence[str] = (),
                sign_as: str | None = None) -> bytes:
        """ASCII-armoured ciphertext of `data` for `recipients` (fingerprints) and, with
        their key IDs left out of the message, `hidden` ones; signed inside with
        `sign_as` (RFC 3156 6.2 combined method) when given."""
        args = ["--armor", "--encrypt"]
        for fpr in recipients:
            args += ["--recipient", fpr]
        for fpr in hidden:
            args += ["--hidden-recipient", fpr]
        if sign_as:
            args += ["--sign", "--local-user", sign_as]
        run = self._run(args, data)
        if run.returncode != 0 or not run.has("END_ENCRYPTION") or not run.stdout:
            raise PgpError(f"gpg could not encrypt: {run.error_line()}")
        return run.stdout

    # ------------------------------------------------------------------ keys
    def keys(self, address: str, secret: bool = False) -> list[Key]:
        """The keys (public, or with `secret` those we hold the secret of) whose user ID
        has exactly this email address; expired, revoked and disabled ones left out."""
        addr = address.strip()
        if not addr or any(c.isspace() or c in "<>" for c in addr):
            return []
        run = self._run(["--with-colons", "--fixed-list-mode",
                         "--list-secret-keys" if secret else "--list-keys", "--", f"<{addr}>"])
        if run.returncode != 0 and not run.stdout:
            return []
        return _parse_keys(run.stdout.decode("utf-8", "replace"), addr)

    def usable_key(self, address: str, *, encrypt: bool, secret: bool = False) -> Key | None:
        """The best valid key for `address` that can encrypt (or sign), or None."""
        want = [k for k in self.keys(address, secret=secret)
                if (k.can_encrypt if encrypt else k.can_sign) and (secret or k.valid)]
        order = "umf"
        want.sort(key=lambda k: order.find(k.validity) if k.validity in order else 9)
        return want[0] if want else None


_HASHES = {"1": "md5", "2": "sha1", "3": "ripemd160", "8": "sha256", "9": "sha384",
           "10": "sha512", "11": "sha224"}


def _parse_keys(text: str, address: str) -> list[Key]:
    """--with-colons output -> keys; the validity is that of the user ID with `address`."""
    out: list[Key] = []
    cur: dict[str, object] | None = None

    def flush() -> None:
        if cur is not None and cur.get("fpr") and cur.get("uid_validity"):
            out.append(Key(str(cur["fpr"]), str(cur["keyid"]), str(cur["uid_validity"]),
                           tuple(cur["uids"]),  # type: ignore[arg-type]
                           bool(cur["enc"]), bool(cur["sig"])))

    for line in text.splitlines():
        f = line.split(":")
        kind = f[0]
        if kind in ("pub", "sec"):
            flush()
            cur = None
            caps = f[11] if len(f) > 11 else ""
            if f[1] in ("e", "r", "d") or "D" in caps:   # expired, revoked, disabled
                continue
            cur = {"keyid": f[4], "fpr": None, "uids": [], "uid_validity": None,
                   "enc": "E" in caps, "sig": "S" in caps, "primary_validity": f[1]}
        elif cur is None:
            continue
        elif kind == "fpr" and cur["fpr"] is None:
            cur["fpr"] = f[9]
        elif kind == "uid":
            uid = _unescape(f[9], percent=False)
            cur["uids"].append(uid)  # type: ignore[attr-defined]
            if f[1] in ("e", "r"):
                continue
            if f"<{address.lower()}>" in uid.lower() or uid.strip().lower() == address.lower():
                if cur["uid_validity"] is None:
                    cur["uid_validity"] = f[1] or "-"
    flush()
    return out


def missing_key_error(address: str, found_invalid: bool) -> UsageError:
    """The one-line error for "encrypt to `address`" without a usable key."""
    if found_invalid:
        return UsageError(f"no valid PGP key for {address}: the keys in your keyring are not "
                          "certified (nothing was sent)",
                          hint="check the key's fingerprint with its owner, then "
                               "`gpg --quick-lsign-key FINGERPRINT`")
    return UsageError(f"no PGP key for {address} in your keyring (nothing was sent)",
                      hint="import it (`gpg --import KEYFILE`), or send without --encrypt")
