"""The fast tree builder (mailcli.message.fasttree) builds exactly the feed parser's tree
whenever it builds one: every attribute of every part, on the corpus, the benchmark
mail, mail with each kind of odd shape it must hand to the feed parser, and generated
MIME soup; and it does build one for ordinary mail (or it would only cost time)."""
from __future__ import annotations

import email.feedparser
import email.policy
import re
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import seed
from mailcli.message import fasttree, mime
from mailcli.message.skeleton import skeleton
from tests.unit.test_feedlines import _HEADERS, _LINES

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def _feed(raw: bytes) -> Message:
    """The tree as the standard library's own feed parser builds it: without mailcli's
    boundary matcher, line source and line-end finder (mailcli.message.boundary,
    feedlines), whose boundary regex the fast builder shares."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(email.feedparser, "re", re)
        m.setattr(email.feedparser, "NLCRE_eol", re.compile(r"(\r\n|\r|\n)\Z"))
        parser = email.feedparser.FeedParser(mime._CappedMessage, policy=email.policy.compat32)
        parser.feed(raw.decode("ascii", "surrogateescape"))
        return parser.close()


def _fast(raw: bytes) -> Message | None:
    return fasttree.build(raw.decode("ascii", "surrogateescape"), mime._CappedMessage,
                          email.policy.compat32)


def _state(msg: Message) -> Any:
    """Everything a part holds, its sub-parts included."""
    d = dict(vars(msg))
    payload = d.pop("_payload")
    d.pop("policy")
    d.pop("lines_dropped", None)
    d.pop("_mailcli_ctype", None)
    d["defects"] = [(type(x).__name__, str(x)) for x in d["defects"]]
    d["class"] = type(msg).__name__
    d["payload"] = ([_state(p) for p in payload] if isinstance(payload, list) else payload)
    return d


def _same_when_built(raw: bytes) -> bool:
    """Whether the fast builder took the message; if it did, its tree is the feed parser's."""
    fast = _fast(raw)
    if fast is None:
        return False
    assert _state(fast) == _state(_feed(raw))
    return True


def test_the_corpus() -> None:
    files = sorted(CORPUS.rglob("*.eml"))
    assert len(files) > 100
    built = sum(_same_when_built(f.read_bytes()) for f in files)
    assert built > len(files) // 2, built     # most real mail is plain MIME


def test_the_benchmark_mail_is_all_built_fast() -> None:
    for folder in ("INBOX", "Lists/dev"):
        for raw in seed.messages(folder, 300):
            assert _same_when_built(raw)
            assert _same_when_built(skeleton(raw))


def test_parse_tree_uses_it_and_keeps_its_contract() -> None:
    raw = next(seed.messages("INBOX", 1))
    tree = mime.parse_tree(raw, max_lines=mime.MAX_LINES)
    assert mime.lines_dropped(tree) == 0 and _state(tree) == _state(_feed(raw))
    # at the line budget: whole; over it: the feed parser's LineBudget drops lines
    for body, dropped in ((b"line\r\n" * 7, 0), (b"line\r\n" * 7 + b"partial", 0),
                          (b"line\r\n" * 8 + b"partial", 1), (b"line\r\n" * 9, 1)):
        text = b"Subject: x\r\n\r\n" + body       # 9, 10, 11, 11 lines
        tree = mime.parse_tree(text, max_lines=10)
        assert (mime.lines_dropped(tree) > 0) == bool(dropped), body
        if not dropped:
            assert _state(tree) == _state(_feed(text))
    # NULs in the header block are dropped before either parser sees them
    nul = b"Sub\x00ject: x\r\nTo: a\x00b\r\n\r\nbody\x00\r\n"
    assert _state(mime.parse_tree(nul)) == _state(_feed(nul.replace(b"\x00", b"", 2)))


def test_a_parameter_the_stdlib_cannot_decode_goes_to_the_feed_parser() -> None:
    """RFC 2231 continuations mixed with an unnumbered parameter make the stdlib's
    get_boundary raise TypeError: no tree from the fast builder, and parse_tree still
    never raises (the feed parser's failure gives the headers alone, as before)."""
    raw = _mime("Content-Type: multipart/mixed; boundary*=x; boundary*0=y", "", "body")
    assert _fast(raw) is None
    tree = mime.parse_tree(raw)
    assert tree.get("content-type", "").startswith("multipart/mixed")


B = "Content-Type: multipart/mixed; boundary=b\r\n"


def _mime(*lines: str) -> bytes:
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


ODD = {
    "bare CR": _mime("Subject: x", "", "a\rb"),
    "no blank line after the headers": _mime("Subject: x", "body"),
    "unix from": _mime("From someone Mon Jan  1 00:00:00 2024", "Subject: x", "", "b"),
    "continuation first": _mime(" folded", "Subject: x", "", "b"),
    "colon first": _mime(": x", "Subject: x", "", "b"),
    "no boundary": _mime("Content-Type: multipart/mixed", "", "--b", "", "x", "--b--"),
    "no start boundary": _mime(B, "text", "--b--"),
    "no close boundary": _mime(B, "--b", "", "x"),
    "doubled boundary": _mime(B, "--b", "--b", "", "x", "--b--"),
    "message/rfc822": _mime("Content-Type: message/rfc822", "", "Subject: in", "", "b"),
    "digest": _mime("Content-Type: multipart/digest; boundary=b", "", "--b", "", "x", "--b--"),
    "base64 multipart": _mime(B + "Content-Transfer-Encoding: base64", "--b", "", "x", "--b--"),
    "outer boundary inside": _mime(B, "--b", "Content-Type: multipart/mixed; boundary=c", "",
                                   "--c", "", "x", "--b--"),
    "8-bit header name": _mime("Subj\xe9ct: x", "", "b"),
    "empty boundary": _mime('Content-Type: multipart/mixed; boundary=""', "", "--", "", "x", "----"),
    "digest inside": _mime(B, "--b", "Content-Type: multipart/digest; boundary=d", "", "--d", "",
                           "Subject: in", "", "x", "--d--", "--b--"),
    "message/rfc822 inside": _mime(B, "--b", "Content-Type: message/rfc822", "", "Subject: in",
                                   "", "x", "--b--"),
    "inner boundary = outer": _mime(B, "--b", "Content-Type: multipart/mixed; boundary=b", "",
                                    "--b", "", "x", "--b--", "--b--"),
    "unix from last": _mime("Subject: x", "From nobody", "", "b"),
    "too deep": "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
                        for i in range(fasttree.MAX_DEPTH + 2)).encode() + b"\r\nx\r\n",
}


def _nested(depth: int) -> bytes:
    """A multipart `depth` levels deep (each level one part: the next level)."""
    head = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
                   for i in range(depth))
    tail = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    return (head + "\r\nx" + tail + "\r\n").encode()


def test_odd_mail_goes_to_the_feed_parser() -> None:
    for name, raw in ODD.items():
        assert _fast(raw) is None, name
        mime.parse_tree(raw)          # and parses there


def test_plain_shapes_are_built_the_same() -> None:
    shapes = [
        _mime("Subject: x", "", "body", ""),
        _mime("Subject: x", "", "body without a final line end"),
        _mime("Subject: x"),                                    # headers only, no body
        _mime("Subject: x", ""),
        b"Subject: x\n\nunix line ends\n--not a boundary\n",
        _mime(B, "preamble", "--b", "Content-Type: text/plain", "", "one", "--b", "", "two",
              "--b--", "epilogue", ""),
        _mime(B, "--b", "", "", "--b--"),                       # an empty part
        _mime(B, "--b  ", "", "x", "--b-- \t"),                 # whitespace after boundaries
        _mime(B, "--b", "", "x", "--bx", "--b--"),               # a line that only starts so
        _mime(B, "--b", "Content-Type: multipart/alternative; boundary=c", "", "pre", "--c",
              "", "plain", "--c", "Content-Type: text/html", "", "<p>h</p>", "--c--", "",
              "--b", "", "after", "--b--"),
        _mime(B, "--b", "Content-Type: multipart/alternative; boundary=c", "", "--c", "",
              "p", "--c--", "--b--"),                           # inner epilogue empty
        _mime(B, "--b", "", "x", "--b--"),                       # close at the very end
        _mime("Subject: caf\xe9", "X-A: 1", "\tfolded", "", "b\xfcdy"),
        _mime('Content-Type: multipart/mixed; boundary="a.b+c(d)?*"', "", "--a.b+c(d)?*", "",
              "x", "--a.bxc(d)?*", "--a.b+c(d)?*--"),                    # regex characters
        _nested(fasttree.MAX_DEPTH),                                  # as deep as it goes
        _mime(B, "--b", "", "x" * 70 + "\r\n" + ("y" * 76 + "\r\n") * 30_000, "--b", "",
              "z", "--b--"),                                          # > 1 MiB: fed in slices
    ]
    for raw in shapes:
        assert _same_when_built(raw), raw
    # an 8-bit boundary (the stdlib hands its header back as a Header object): handed
    # over, or the same tree
    _same_when_built(_mime("Content-Type: multipart/mixed; boundary=\"\xe4\xf6\"", "",
                           "--\xe4\xf6", "", "x", "--\xe4\xf6--"))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_HEADERS[:6]), st.lists(st.sampled_from(_LINES), max_size=40),
       st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3),
       st.booleans())
def test_generated_mime_soup(top: str, lines: list[str], ends: list[str], final: bool) -> None:
    lines = [top, ""] + lines
    text = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    if not final and text:
        text = text.rstrip("\r\n")
    _same_when_built(text.encode())


_BODY = ["--", "-- x", "--bx", "--b-x", "--b x", "Content-Type: text/plain", "", " ", "text",
         "From nobody", "a: b", "\t folded", "caf\udce9"]     # (no boundary of _entity's)
_TRICKY = _BODY + ["--b", "--b--", "--c", "--c  ", "--d--"]


def _entity(rng: Any, depth: int, used: list[str]) -> list[str]:
    """A random well-formed MIME entity, as lines (boundaries b, c, d... by depth)."""
    folded = ["X-Folded: a", "\tb"] if rng.random() < 0.3 else []
    lines = (["Content-Type: text/plain"] if rng.random() < 0.5 else []) + folded
    if depth < 3 and rng.random() < 0.5:
        bnd = f"z{len(used)}" if len(used) > 5 else "bcdefg"[len(used)]
        bnd = "b" + bnd if rng.random() < 0.1 else bnd      # (another's boundary + more)
        if used and rng.random() < 0.05:
            bnd = rng.choice(used)     # an enclosing (or earlier) one again: not plain MIME
            used.append("!" + bnd)
        used.append(bnd)
        sub = rng.choice(["mixed", "alternative", "related"])
        lines = [f"Content-Type: multipart/{sub}; boundary=\"{bnd}\""] + folded + [""]
        lines += [rng.choice(_BODY) for _ in range(rng.randrange(3))]   # preamble
        for _ in range(rng.randrange(1, 4)):
            lines.append("--" + bnd + rng.choice(["", " ", "\t "]))
            lines += _entity(rng, depth + 1, used)
        lines.append("--" + bnd + "--" + rng.choice(["", "  "]))
        lines += [rng.choice(_BODY) for _ in range(rng.randrange(3))]   # epilogue
        return lines
    return lines + [""] + [rng.choice(_BODY) for _ in range(rng.randrange(6))]


@settings(max_examples=600, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_generated_well_formed_mime_and_its_mutations(rng: Any, mutations: int) -> None:
    used: list[str] = []
    lines = _entity(rng, 0, used)
    for _ in range(mutations):
        i = rng.randrange(len(lines) + 1)
        if rng.random() < 0.5 and i < len(lines):
            del lines[i]
        else:
            lines.insert(i, rng.choice(_TRICKY))
    ends = rng.choice([["\r\n"], ["\n"], ["\r\n", "\n"]])
    text = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")
    built = _same_when_built(text.encode("utf-8", "surrogateescape"))
    if mutations == 0 and len(ends) == 1 and not any(u.startswith("!") for u in used):
        assert built, text      # well formed and one kind of line end: plain MIME
