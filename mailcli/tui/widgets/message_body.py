"""A message as read: header block (or every header, on demand), attachments, body text.

Used by the preview pane and the full-screen view. Everything is drawn as Rich ``Text``
(markup off); header values go through ``safe_line`` and the body arrives already
sanitized by the service (``show``'s text passed mailcli.message.sanitize).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mailcli.message.sanitize import safe_line, safe_text
from mailcli.model import AttachmentInfo, Envelope
from mailcli.tui import display

if TYPE_CHECKING:
    from mailcli.service import ShownMessage

BODY_DISPLAY_LIMIT = 400_000  # characters drawn; the rest is reachable with `mailcli show`


def header_block(env: Envelope, shown: ShownMessage, full: bool) -> Text:
    text = Text(no_wrap=False)
    if full:
        pairs = list(shown.headers)
    else:
        pairs = [("Date", display.long_date(env.date)), ("From", env.from_), ("To", env.to)]
        if env.cc:
            pairs.append(("Cc", env.cc))
        pairs.append(("Subject", display.subject(env)))
    for name, value in pairs:
        text.append(safe_line(name) + ": ", style="bold")
        text.append(safe_line(value) + "\n")
    for line in shown.pgp_lines():   # PGP/MIME: "Signature: good (...)" / "Decrypted"
        good = line.startswith("Signature: good (") or line == "Decrypted"
        text.append(safe_line(line) + "\n", style="bold green" if good else "bold red")
    text.rstrip()
    return text


def attachment_block(attachments: list[AttachmentInfo]) -> Text:
    text = Text()
    if not attachments:
        return text
    text.append("Attachments:\n", style="bold")
    for i, a in enumerate(attachments, 1):
        name = safe_line(a.filename or "(unnamed)")
        ctype = safe_line(a.content_type)
        size = display.human_size(a.size)
        text.append(f"  {i}. ")
        text.append(name, style="underline")
        text.append(f"  {ctype}, {size}\n")
    text.rstrip()
    return text


def body_text(shown: ShownMessage) -> Text:
    body = safe_text(shown.text)
    if len(body) > BODY_DISPLAY_LIMIT:
        body = body[:BODY_DISPLAY_LIMIT] + "\n\n[… cut here; `mailcli show` prints the rest]"
    if shown.partial:
        body = "(only the headers were downloaded; the body comes with the next fetch)\n\n" + body
    return Text(body or "(no text)", no_wrap=False, end="")


class MessageBody(VerticalScroll):
    """Header block, attachments and body of one message (or a placeholder)."""

    DEFAULT_CSS = """
    MessageBody { padding: 0 1; }
    MessageBody > #headers { padding-bottom: 1; color: $text; }
    MessageBody > #attachments { padding-bottom: 1; color: $text-muted; }
    MessageBody > #attachments.-empty { display: none; }
    """

    def __init__(self, *, id: str | None = None, can_focus: bool = True) -> None:
        super().__init__(id=id, can_focus=can_focus)
        self.envelope: Envelope | None = None
        self.shown: ShownMessage | None = None
        self.full_headers = False

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="headers", markup=False)
        yield Static(Text(""), id="attachments", markup=False, classes="-empty")
        yield Static(Text("No message selected", style="italic"), id="body", markup=False)

    def show_message(self, shown: ShownMessage) -> None:
        self.shown = shown
        self.envelope = shown.envelope
        self._draw()
        self.scroll_home(animate=False)

    def clear(self, note: str = "No message selected") -> None:
        self.shown = None
        self.envelope = None
        self.query_one("#headers", Static).update(Text(""))
        att = self.query_one("#attachments", Static)
        att.update(Text(""))
        att.add_class("-empty")
        self.query_one("#body", Static).update(Text(safe_text(note), style="italic"))

    def toggle_headers(self) -> None:
        self.full_headers = not self.full_headers
        if self.shown is not None:
            self._draw()

    def update_envelope(self, env: Envelope) -> None:
        if self.shown is not None and self.envelope and env.id == self.envelope.id:
            self.envelope = env

    def _draw(self) -> None:
        assert self.envelope is not None and self.shown is not None
        self.query_one("#headers", Static).update(
            header_block(self.envelope, self.shown, self.full_headers))
        attachments = self.shown.attachments
        att = self.query_one("#attachments", Static)
        att.update(attachment_block(attachments))
        att.set_class(not attachments, "-empty")
        self.query_one("#body", Static).update(body_text(self.shown))

    @property
    def text(self) -> str:
        """Everything displayed, as plain text (for tests and copy)."""
        parts = []
        for wid in ("#headers", "#attachments", "#body"):
            content = self.query_one(wid, Static).content
            parts.append(content.plain if isinstance(content, Text) else str(content))
        return "\n".join(p for p in parts if p)
