"""The deterministic benchmark mailbox: realistic messages made from a seeded random
generator, and writing them into a Dovecot user's Maildir (then `doveadm index`).

Message i of a folder depends only on (seed, folder, i), so N=1,000 is a prefix of N=10,000.
Mix: mostly 2-20 KB text/plain and multipart/alternative, ~10 % multipart/mixed with a
50 KB - 2 MB base64 attachment (log-uniform sizes), RFC 2047 non-ASCII names and subjects,
RFC 2231 file names, Message-IDs, dates over three years, reply threads.
Run `python -m benchmarks.seed --n 20 --dump DIR` to look at a sample.
"""
from __future__ import annotations

import argparse
import base64
import email.utils
import math
import os
import quopri
import random
import time
from datetime import datetime, timedelta, timezone
from email.header import Header
from pathlib import Path
from typing import Iterator

SEED = 20240917
DOMAIN = "bench.example"

# folder -> share of N (INBOX holds N; the others hold extra messages)
FOLDERS: dict[str, float] = {"INBOX": 1.0, "Archive": 0.05, "Lists/dev": 0.03, "Sent": 0.02}

FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "François", "Günther", "Hanna", "Ivan",
         "Jürgen", "Kenji", "Léa", "María", "Nikos", "Olga", "Paweł", "Quentin", "Renée",
         "Søren", "Tomás", "Ulrike", "Victor", "Wiebke", "Xiao", "Yūki", "Zoë", "Анна", "Δημήτρης",
         "山田", "José"]
LAST = ["Müller", "Smith", "Øster", "Dubois", "García", "Kowalski", "Novák", "Nakamura",
        "Schröder", "Jensen", "Ivanova", "Papadopoulos", "Lefèvre", "Brown", "Costa", "Wójcik"]
WORDS = ("the of and to in is that for it as with was on be by this are or at from have an "
         "not which but all they were we can there one their has more will would about if when "
         "release build deploy server mailbox folder sync cache index message header quota "
         "meeting budget report review draft schedule invoice contract proposal update "
         "ticket issue patch branch merge commit test failure latency throughput memory "
         "straße über schön grüße déjà vu café naïve résumé façade señor año mañana "
         "привет спасибо документ встреча καλημέρα ευχαριστώ 会議 資料 ありがとう 予定").split()
SUBJECTS = ["Quarterly report {}", "Meeting notes: {}", "Re: budget for {}", "Invoice #{}",
            "Build failure on {}", "Déjà vu: {} again", "Ünïcödé test {}", "Besprechung am {}",
            "Отчёт за {}", "会議の予定 {}", "Patch review: {}", "Your order {} has shipped",
            "Weekly digest {}", "Προσφορά {}", "Question about {}", "Release {} is out"]
ATTACHMENTS = [("application/pdf", "report-{}.pdf"), ("image/jpeg", "photo_{}.jpg"),
               ("application/zip", "logs-{}.zip"), ("application/pdf", "Rechnung-Übersicht-{}.pdf"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "données-{}.xlsx"),
               ("image/png", "スクリーンショット-{}.png")]
EPOCH = datetime(2024, 9, 1, 12, 0, tzinfo=timezone.utc)


def folder_count(folder: str, n: int) -> int:
    return max(1, round(n * FOLDERS[folder])) if folder != "INBOX" else n


def _rng(folder: str, i: int, seed: int) -> random.Random:
    return random.Random(f"{seed}:{folder}:{i}")


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    addr = f"{rng.choice(['a', 'b', 'c', 'd', 'e'])}{rng.randrange(1000)}@{rng.choice(['example.org', 'example.com', 'mail.example.net', DOMAIN])}"
    return f"{first} {last}", addr


def _addr_header(name: str, addr: str) -> str:
    try:
        name.encode("ascii")
        return f'"{name}" <{addr}>'
    except UnicodeEncodeError:
        return f"{Header(name, 'utf-8').encode()} <{addr}>"


def _subject_header(text: str) -> str:
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return Header(text, "utf-8", maxlinelen=76, header_name="Subject").encode()


def _msgid(folder: str, i: int, seed: int) -> str:
    tag = folder.replace("/", "-").lower()
    return f"<{seed}.{tag}.{i}@{DOMAIN}>"


def _base_subject(folder: str, i: int, seed: int) -> str:
    rng = _rng(folder, i, seed)
    return rng.choice(SUBJECTS).format(rng.randrange(100, 10000))


def _thread_root(folder: str, i: int, seed: int) -> int | None:
    """About 30 % of messages reply to one a few messages earlier; returns the parent index."""
    rng = random.Random(f"{seed}:thread:{folder}:{i}")
    if i == 0 or rng.random() > 0.3:
        return None
    return max(0, i - rng.randint(1, 20))


def _paragraphs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        words = rng.choices(WORDS, k=rng.randint(20, 90))
        line_words: list[str] = []
        lines: list[str] = []
        width = 0
        for w in words:
            if width + len(w) > 72:
                lines.append(" ".join(line_words))
                line_words, width = [], 0
            line_words.append(w)
            width += len(w) + 1
        lines.append(" ".join(line_words))
        para = "\n".join(lines)
        para = para[0].upper() + para[1:] + "."
        out.append(para)
        total += len(para.encode()) + 2
    return "\n\n".join(out)


def _qp(text: str) -> str:
    return quopri.encodestring(text.replace("\n", "\r\n").encode()).decode().replace("\r\n", "\n")


def _text_part(body: str, subtype: str = "plain") -> str:
    return (f"Content-Type: text/{subtype}; charset=utf-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{_qp(body)}\n")


def _html(body: str) -> str:
    paras = "".join(f"<p>{p}</p>\n" for p in body.split("\n\n"))
    return f"<html><head><meta charset=\"utf-8\"></head><body>\n{paras}</body></html>"


def _filename_params(name: str) -> str:
    try:
        name.encode("ascii")
        return f'filename="{name}"'
    except UnicodeEncodeError:
        from urllib.parse import quote
        return f"filename*=utf-8''{quote(name)}"


def message(folder: str, i: int, seed: int = SEED) -> bytes:
    """Message i of folder: the raw bytes (LF line ends, as stored in a Maildir)."""
    rng = _rng(folder, i, seed)
    parent = _thread_root(folder, i, seed)
    root = parent
    depth = 0
    while root is not None and depth < 10:
        nxt = _thread_root(folder, root, seed)
        if nxt is None:
            break
        root, depth = nxt, depth + 1
    subject = _base_subject(folder, root if root is not None else i, seed)
    if parent is not None:
        subject = "Re: " + subject.removeprefix("Re: ")
    from_name, from_addr = _person(rng)
    to_name, to_addr = _person(rng)
    if folder == "Sent":
        from_name, from_addr = "Bench User", f"bench@{DOMAIN}"
    when = EPOCH - timedelta(minutes=(folder_count(folder, 10_000) - i) * 157 + rng.randrange(150))
    tz = timezone(timedelta(hours=rng.choice([-7, -5, 0, 1, 2, 9])))
    headers = [
        f"Return-Path: <{from_addr}>",
        f"Received: from mx{rng.randrange(9)}.example.org (mx.example.org [192.0.2.{rng.randrange(1, 255)}])"
        f"\n\tby imap.{DOMAIN} with ESMTPS id {rng.getrandbits(48):012x}"
        f"\n\tfor <bench@{DOMAIN}>; {email.utils.format_datetime(when.astimezone(tz))}",
        f"Message-ID: {_msgid(folder, i, seed)}",
        f"Date: {email.utils.format_datetime(when.astimezone(tz))}",
        f"From: {_addr_header(from_name, from_addr)}",
        f"To: {_addr_header(to_name, to_addr)}",
    ]
    if rng.random() < 0.3:
        cc_name, cc_addr = _person(rng)
        headers.append(f"Cc: {_addr_header(cc_name, cc_addr)}")
    headers.append(f"Subject: {_subject_header(subject)}")
    if parent is not None:
        headers.append(f"In-Reply-To: {_msgid(folder, parent, seed)}")
        headers.append(f"References: {_msgid(folder, root, seed) if root is not None else ''} "
                       f"{_msgid(folder, parent, seed)}".replace(" <", "\n <").strip())
    if folder == "Lists/dev":
        headers.append(f"List-Id: Developers <dev.lists.{DOMAIN}>")
    headers.append("MIME-Version: 1.0")

    # log-normal text size, clipped to 2-20 KB, median ~5 KB (the HTML alternative adds more)
    text_size = int(min(20_000, max(2_000, rng.lognormvariate(math.log(5_000), 0.6))))
    kind = rng.random()
    if kind < 0.10:
        att_type, att_name = rng.choice(ATTACHMENTS)
        att_name = att_name.format(i)
        att_size = int(math.exp(rng.uniform(math.log(50_000), math.log(2_000_000))))
        blob = rng.randbytes(att_size)
        b = f"=_mixed_{seed}_{i}"
        body = (f"Content-Type: multipart/mixed; boundary=\"{b}\"\n\n"
                f"This is a multi-part message in MIME format.\n\n--{b}\n"
                + _text_part(_paragraphs(rng, text_size // 2))
                + f"\n--{b}\nContent-Type: {att_type}; name=\"{att_name if att_name.isascii() else 'attachment'}\"\n"
                f"Content-Disposition: attachment; {_filename_params(att_name)}\n"
                f"Content-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(blob).decode()
                + f"\n--{b}--\n")
    elif kind < 0.55:
        text = _paragraphs(rng, text_size // 2)
        b = f"=_alt_{seed}_{i}"
        body = (f"Content-Type: multipart/alternative; boundary=\"{b}\"\n\n--{b}\n"
                + _text_part(text) + f"\n--{b}\n" + _text_part(_html(text), "html") + f"\n--{b}--\n")
    else:
        text = _paragraphs(rng, text_size)
        body = ("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                + _qp(text) + "\n")
    return ("\n".join(headers) + "\n" + body).encode()


def messages(folder: str, n: int, seed: int = SEED) -> Iterator[bytes]:
    for i in range(folder_count(folder, n)):
        yield message(folder, i, seed)


def extra_messages(count: int, seed: int = SEED) -> list[bytes]:
    """New mail for the incremental-resync scenario (a folder name no one else uses)."""
    return [message("INBOX", 1_000_000 + i, seed) for i in range(count)]


def write_maildir(maildir: Path, raws: Iterator[bytes], prefix: str) -> tuple[int, int]:
    """Write messages into maildir/new (no fsync: this is the server's seed). -> (count, bytes)."""
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    count = size = 0
    base = int(time.time())
    for raw in raws:
        # zero-padded sequence so Dovecot's readdir-order UIDs are stable between seeds
        (maildir / "new" / f"{base}.{prefix}{count:07d}.bench").write_bytes(raw)
        count += 1
        size += len(raw)
    return count, size


def folder_path(maildir_root: Path, folder: str) -> Path:
    """Dovecot's Maildir++ layout (separator '/', stored as '.')."""
    return maildir_root if folder == "INBOX" else maildir_root / ("." + folder.replace("/", "."))


def seed_dovecot(dovecot, user: str, n: int, seed: int = SEED) -> dict:
    """Fill user's mailbox on a tests.servers.dovecot.Dovecot; returns the corpus summary."""
    import pwd
    root = dovecot.home(user) / "Maildir"
    summary: dict = {"seed": seed, "n": n, "folders": {}, "messages": 0, "bytes": 0}
    for k, folder in enumerate(FOLDERS):
        count, size = write_maildir(folder_path(root, folder), messages(folder, n, seed),
                                    prefix=f"F{k}M")
        summary["folders"][folder] = {"messages": count, "bytes": size}
        summary["messages"] += count
        summary["bytes"] += size
    if dovecot.run_as:
        pw = pwd.getpwnam(dovecot.run_as)
        for p in [dovecot.home(user), *dovecot.home(user).rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    for folder in FOLDERS:
        if folder != "INBOX":
            try:
                dovecot.doveadm("mailbox", "create", "-u", user, folder)
            except RuntimeError as exc:
                if "exists" not in str(exc):
                    raise
            dovecot.doveadm("mailbox", "subscribe", "-u", user, folder)
    dovecot.doveadm("index", "-u", user, "*")
    # touch every folder once so new/ moves to cur/ and the index is complete
    for folder in FOLDERS:
        dovecot.doveadm("mailbox", "status", "-u", user, "messages uidnext", folder)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--dump", type=Path, required=True, help="write a Maildir tree here")
    args = ap.parse_args()
    total = 0
    for folder in FOLDERS:
        count, size = write_maildir(folder_path(args.dump, folder), messages(folder, args.n), "S")
        total += size
        print(f"{folder}: {count} messages, {size / 1e6:.1f} MB")
    print(f"total {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
