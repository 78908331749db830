"""The search language of SPEC.md, parsed into a parameterised SQL WHERE clause.

Owns lexing, parsing and compiling queries such as::

    from:alice subject:"quarterly report" -is:read (has:attachment OR after:2024-01-01)

Grammar (AND binds tighter than OR; AND may be left out)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*
    unary   := ("-" | "NOT") unary | "(" or_expr ")" | term
    term    := [field ":"] (word | "quoted phrase")

Fields: ``from: to: cc: subject: body:`` (full text; ``to:`` also searches Cc),
``folder:`` (the folder or any folder below it; case-insensitive), ``account:``,
``is:unread|read|flagged|unflagged|answered|draft``, ``has:attachment``,
``before:YYYY-MM-DD`` (earlier than that day) and ``after:YYYY-MM-DD`` (that day or later),
days in local time. A bare word or phrase searches every text field; words match as
prefixes (``invoic`` finds "invoices"), phrases match exactly. Operators are upper-case
``OR``/``AND``/``NOT``; lower-case "or" is an ordinary word.

Limits: parentheses and NOT/'-' nest at most MAX_DEPTH deep and a query holds at most
MAX_TERMS terms (deeper or longer queries are a usage error, not a stack or SQLite
expression-depth overflow). Dates are YYYY-MM-DD of years 1-9999 (a day whose local
midnight the platform cannot express is taken at UTC midnight). Text that is not valid
Unicode (a non-UTF-8 argv byte, which Python passes on as a lone surrogate) is read as
Latin-1 for those bytes: "café" typed on a Latin-1 terminal searches for "café".

Safety: user text only ever reaches SQLite as bound parameters. Text for FTS5 is always
wrapped in an FTS5 string literal (``"..."`` with ``"`` doubled), so no FTS5 operator,
column filter or NEAR group can be injected. A malformed query raises
:class:`mailcli.errors.UsageError` naming the column (1-based) of the problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from mailcli.errors import UsageError
from mailcli.store import fts

TEXT_FIELDS = {"from": "{from_}", "to": "{to_ cc}", "cc": "{cc}", "subject": "{subject}",
               "body": "{body}"}
OTHER_FIELDS = ("folder", "account", "is", "has", "before", "after")
FIELDS = (*TEXT_FIELDS, *OTHER_FIELDS)
IS_VALUES = {
    "unread": "m.seen = 0",
    "read": "m.seen = 1",
    "seen": "m.seen = 1",
    "flagged": "instr(m.flags, 'F') > 0",
    "unflagged": "instr(m.flags, 'F') = 0",
    "answered": "instr(m.flags, 'R') > 0",
    "replied": "instr(m.flags, 'R') > 0",
    "draft": "instr(m.flags, 'D') > 0",
}
HAS_VALUES = {"attachment": "m.has_attachments = 1", "attachments": "m.has_attachments = 1"}
MAX_DEPTH = 20    # nested parentheses plus NOT/'-' (SQLite's parser stack holds ~28 levels)
MAX_TERMS = 300   # terms in one query (SQLite's expression tree is at most 1000 deep)
HINT = ("syntax: from: to: cc: subject: body: folder: account: is:unread is:read is:flagged "
        "has:attachment before:/after:YYYY-MM-DD, words, \"phrases\", OR, -term, ( )")


def _error(problem: str, col: int) -> UsageError:
    return UsageError(f"bad search query at column {col}: {problem}", hint=HINT)


# --------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Term:
    field: str | None
    value: str
    quoted: bool
    col: int


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Term | Not | And | Or


def clean_text(text: str) -> str:
    """`text` as valid Unicode: a lone surrogate U+DC80..U+DCFF (an undecodable byte of a
    non-UTF-8 argv, under Python's surrogateescape) becomes that byte read as Latin-1;
    any other lone surrogate becomes U+FFFD."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return "".join(chr(ord(ch) - 0xDC00) if "\udc80" <= ch <= "\udcff"
                   else "\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


# ------------------------------------------------------------------------- lexer
@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "OR" "AND" "NOT" "TERM"
    col: int
    term: Term | None = None


_STOP = set(" \t\r\n()")
_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z_-]*):")


def _quoted(text: str, i: int) -> tuple[str, int]:
    """Read a "..." string starting at text[i] == '"'; returns (value, index after)."""
    out = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text) and text[j + 1] in "\"\\":
            out.append(text[j + 1])
            j += 2
            continue
        if ch == '"':
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    raise _error("unterminated quote", i + 1)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, col))
            i += 1
        elif ch == "-" and (i + 1 >= n or text[i + 1].isspace() or text[i + 1] == ")"):
            raise _error("'-' must be followed by a term", col)
        elif ch == "-":
            tokens.append(Token("NOT", col))
            i += 1
        elif ch == '"':
            value, i = _quoted(text, i)
            tokens.append(Token("TERM", col, Term(None, value, True, col)))
        else:
            j = i
            while j < n and text[j] not in _STOP and text[j] != '"':
                j += 1
            word = text[i:j]
            m = _FIELD_RE.match(word)
            if m and m.end() == len(word) and j < n and text[j] == '"':
                value, j = _quoted(text, j)
                field = m.group(1).lower()
                if field not in FIELDS:
                    raise _unknown_field(m.group(1), col)
                tokens.append(Token("TERM", col, Term(field, value, True, col)))
            elif m:
                field = m.group(1).lower()
                if field not in FIELDS:
                    raise _unknown_field(m.group(1), col)
                value = word[m.end():]
                if not value:
                    raise _error(f"'{m.group(1)}:' needs a value", col)
                tokens.append(Token("TERM", col, Term(field, value, False, col)))
            elif word in ("OR", "AND", "NOT"):
                tokens.append(Token(word, col))
            elif j < n and text[j] == '"':
                raise _error("a quote must start a new term (or follow 'field:')", j + 1)
            else:
                tokens.append(Token("TERM", col, Term(None, word, False, col)))
            i = j
    return tokens


def _unknown_field(name: str, col: int) -> UsageError:
    return UsageError(
        f"bad search query at column {col}: unknown field '{name}:'",
        hint=f"fields: {', '.join(f + ':' for f in FIELDS)}; quote the text to search it literally")


# ------------------------------------------------------------------------ parser
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text = clean_text(text)
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        terms = [t for t in self.tokens if t.kind == "TERM"]
        if len(terms) > MAX_TERMS:
            raise _error(f"more than {MAX_TERMS} terms", terms[MAX_TERMS].col)

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def end_col(self) -> int:
        return len(self.text) + 1

    def parse(self) -> Node:
        if not self.tokens:
            raise _error("empty query", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:  # only a stray ')' can be left over
            raise _error("unexpected ')'", tok.col)
        return node

    def or_expr(self) -> Node:
        nodes = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.pos += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise _error("OR needs a term after it", nxt.col if nxt else tok.col)
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def and_expr(self) -> Node:
        nodes = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.pos += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise _error("AND needs a term after it", nxt.col if nxt else tok.col)
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise _error("a term is missing", self.end_col())
        if tok.kind in ("NOT", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _error(f"nested more than {MAX_DEPTH} deep (parentheses and NOT)", tok.col)
            try:
                return self.nested(tok)
            finally:
                self.depth -= 1
        if tok.kind == "TERM":
            self.pos += 1
            assert tok.term is not None
            return tok.term
        raise _error(f"unexpected {tok.kind if tok.kind != ')' else repr(')')}", tok.col)

    def nested(self, tok: Token) -> Node:
        """NOT/'-' and its term, or a parenthesised expression (`tok` is the opener)."""
        if tok.kind == "NOT":
            self.pos += 1
            if self.peek() is None:
                raise _error("NOT/'-' needs a term after it", tok.col)
            return Not(self.unary())
        self.pos += 1  # "("
        inner = self.peek()
        if inner is not None and inner.kind == ")":
            raise _error("empty parentheses", tok.col)
        node = self.or_expr()
        close = self.peek()
        if close is None or close.kind != ")":
            raise _error("missing ')' for this '('", tok.col)
        self.pos += 1
        return node


def parse(text: str) -> Node:
    """Parse a query into its syntax tree (UsageError with a column on bad input)."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------- compiler
def fts_string(value: str) -> str:
    """An FTS5 string literal: the text stays text, whatever characters it holds."""
    value = value.replace("\x00", " ")  # FTS5 reads C strings: a NUL would end the literal
    return '"' + value.replace('"', '""') + '"'


def _day(value: str, col: int) -> int:
    """The Unix time of local midnight starting the day `value` (YYYY-MM-DD)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _error(f"date {value!r} is not YYYY-MM-DD", col)
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise _error(f"no such date {value!r}", col) from None
    try:
        return int(datetime(d.year, d.month, d.day).astimezone().timestamp())
    except (ValueError, OverflowError, OSError):  # year 1 or 9999 beyond the local zone
        return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())




def _is_fts(node: Node) -> bool:
    return isinstance(node, Term) and (node.field is None or node.field in TEXT_FIELDS)


def _match(t: Term) -> str:
    """The FTS5 expression for one text term (user text only inside string literals)."""
    value = t.value if t.quoted else t.value.rstrip("*")
    literal = fts_string(value) + ("" if t.quoted else " *")
    return literal if t.field is None else f"{TEXT_FIELDS[t.field]} : ({literal})"


def _term(t: Term) -> tuple[str, list[object]]:
    f = t.field
    if _is_fts(t):
        return fts.MATCH_SQL, fts.match_params(_match(t))
    if f == "folder":
        return ("(m.folder = ? COLLATE NOCASE OR substr(m.folder, 1, ?) = ? COLLATE NOCASE)",
                [t.value, len(t.value) + 1, t.value + "/"])
    if f == "account":
        return "m.account = ?", [t.value]
    if f == "is":
        sql = IS_VALUES.get(t.value.lower())
        if sql is None:
            raise _error(f"unknown is:{t.value} (use one of {', '.join(IS_VALUES)})", t.col)
        return sql, []
    if f == "has":
        sql = HAS_VALUES.get(t.value.lower())
        if sql is None:
            raise _error(f"unknown has:{t.value} (use has:attachment)", t.col)
        return sql, []
    ts = _day(t.value, t.col + len(f or "") + 1)
    if f == "before":
        return "m.date < ?", [ts]
    return "m.date >= ?", [ts]  # after: that day or later


def compile_node(node: Node) -> tuple[str, list[object]]:
    """Syntax tree -> (SQL boolean expression over `messages m`, parameters)."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Not):
        sql, params = compile_node(node.node)
        return f"NOT ({sql})", params
    # Text terms joined by the same operator become one FTS5 MATCH (FTS5 intersects or
    # unites its doclists far faster than SQL can combine several IN (...) sets).
    text = [n for n in node.nodes if _is_fts(n)]
    rest = [n for n in node.nodes if not _is_fts(n)]
    word = " AND " if isinstance(node, And) else " OR "
    parts: list[tuple[str, list[object]]] = []
    if len(text) > 1 and (isinstance(node, And) or not rest):
        parts.append((fts.MATCH_SQL, fts.match_params(
            word.join(f"({_match(t)})" for t in text))))  # type: ignore[arg-type]
    else:
        rest = list(node.nodes)
    parts += [compile_node(n) for n in rest]
    if len(parts) == 1:
        return parts[0]
    return ("(" + word.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]])


def to_sql(text: str) -> tuple[str, list[object]]:
    """Query text -> (WHERE expression, parameters). Raises UsageError on bad input."""
    return compile_node(parse(text))
