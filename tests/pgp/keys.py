"""Throwaway GnuPG homes for the PGP/MIME tests: keys made once per session with
`gpg --quick-gen-key` (ed25519 + cv25519, no passphrase: fast), homes in short /tmp paths
(the agent's socket path must stay under ~100 characters), agents killed at the end.

Homes:
- ``alice``: the mailcli user. Alice's secret key; Bob's public key certified by Alice
  (valid); Dave's public key not certified (present but not valid).
- ``bob``: a correspondent using plain gpg. Bob's secret key; Alice's public key.
- ``carol``: someone whose key Alice does not have (an unknown signer).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ALICE = "alice@example.org"
BOB = "bob@example.net"
CAROL = "carol@example.com"
DAVE = "dave@example.com"


@dataclass
class Home:
    path: Path
    fpr: str = ""

    def gpg(self, *args: str, input: bytes = b"", check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["gpg", "--homedir", str(self.path), "--batch", "--no-tty",
                               "--yes", *args], input=input, capture_output=True, check=check,
                              timeout=120)

    def gen(self, uid: str) -> str:
        self.gpg("--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", uid,
                 "future-default", "default", "never")
        out = self.gpg("--with-colons", "--list-secret-keys", uid).stdout.decode()
        fprs = [ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:")]
        return fprs[0]

    def export(self, fpr: str) -> bytes:
        return self.gpg("--armor", "--export", fpr).stdout

    def import_(self, data: bytes) -> None:
        self.gpg("--import", input=data)

    def kill(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.path), "--kill", "all"],
                       capture_output=True, check=False, timeout=30)

    def remove(self) -> None:
        """Stop its agent and delete the home (for copies made by copy_home)."""
        self.kill()
        shutil.rmtree(self.path, ignore_errors=True)


@dataclass
class Keys:
    alice: Home
    bob: Home
    carol: Home
    dave_fpr: str

    def homes(self) -> list[Home]:
        return [self.alice, self.bob, self.carol]


def _home(root: Path, name: str) -> Home:
    path = root / name
    path.mkdir(mode=0o700)
    return Home(path)


def make_keys() -> tuple[Keys, Path]:
    root = Path(tempfile.mkdtemp(prefix="mcg-", dir="/tmp"))
    alice, bob, carol = _home(root, "a"), _home(root, "b"), _home(root, "c")
    dave = _home(root, "d")
    alice.fpr = alice.gen(f"Alice <{ALICE}>")
    bob.fpr = bob.gen(f"Bob <{BOB}>")
    carol.fpr = carol.gen(f"Carol <{CAROL}>")
    dave.fpr = dave.gen(f"Dave <{DAVE}>")
    alice.import_(bob.export(bob.fpr))
    alice.gpg("--quick-lsign-key", bob.fpr)
    alice.import_(dave.export(dave.fpr))
    bob.import_(alice.export(alice.fpr))
    bob.gpg("--quick-lsign-key", alice.fpr)
    bob.import_(carol.export(carol.fpr))
    bob.gpg("--quick-lsign-key", carol.fpr)
    dave.kill()
    return Keys(alice, bob, carol, dave.fpr), root


def cleanup(keys: Keys, root: Path) -> None:
    for home in keys.homes():
        home.kill()
    shutil.rmtree(root, ignore_errors=True)


def copy_home(src: Home, dest_root: Path) -> Home:
    """A private copy of a home (for a test that changes the keyring)."""
    dest = Path(tempfile.mkdtemp(prefix="mcg-", dir="/tmp"))
    shutil.rmtree(dest)
    shutil.copytree(src.path, dest, ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"))
    os.chmod(dest, 0o700)
    return Home(dest, src.fpr)
