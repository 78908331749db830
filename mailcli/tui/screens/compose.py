"""Writing mail in the TUI: To/Cc/Bcc/Subject/Attach fields and a body TextArea over a
service Draft (new, reply, reply-all, forward, a resumed draft). Ctrl+S sends, Ctrl+G edits
in $EDITOR, Esc leaves: an edited draft is kept in the Drafts folder with every header as
typed (an address still being typed is kept as text), an untouched one is dropped."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static, TextArea

from mailcli.errors import MailcliError, UsageError
from mailcli.message.sanitize import safe_line
from mailcli.tui import editor

if TYPE_CHECKING:
    from mailcli.service import Draft
    from mailcli.tui.app import MailApp

Composed = tuple[str, "Draft"] | None  # ("send" | "keep", draft), or None: dropped


FIELDS = ("to", "cc", "bcc", "subject", "attach")


def _join(value: list[str]) -> str:
    return ", ".join(value)


class ComposeScreen(Screen[Composed]):
    """Edits `draft`; dismisses with ("send", draft), ("keep", draft) or None (untouched)."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", show=True, id="send"),
        Binding("ctrl+g", "external_editor", "$EDITOR", show=True, id="external_editor"),
        Binding("escape", "leave", "Close (keeps edits in Drafts)", show=True, id="leave"),
    ]

    app: MailApp

    def __init__(self, draft: Draft, account: str, title: str) -> None:
        super().__init__()
        self.draft = draft
        self.account = account
        self.title_text = title
        self._edited_externally = False

    def compose(self) -> ComposeResult:
        with Vertical(id="compose"):
            yield Static(Text(f"{self.title_text}  —  from {safe_line(self.draft.from_)}",
                              style="bold"), markup=False, id="compose-title")
            for label, attr, value in (("To", "to", _join(self.draft.to)),
                                       ("Cc", "cc", _join(self.draft.cc)),
                                       ("Bcc", "bcc", _join(self.draft.bcc)),
                                       ("Subject", "subject", self.draft.subject),
                                       ("Attach", "attach", shlex.join(
                                           str(p) for p in self.draft.attachments))):
                with Horizontal(classes="field"):
                    yield Label(f"{label}:", classes="field-label", markup=False)
                    yield Input(value, id=f"compose-{attr}")
            attached = self._attachment_note()
            if attached:
                yield Static(Text(attached, style="italic"), markup=False, id="compose-attached")
            yield TextArea(self.draft.body or "", id="compose-body", soft_wrap=True,
                           show_line_numbers=False)
        yield Footer()

    def _attachment_note(self) -> str:
        names: list[str] = []
        n_msgs = len(self.draft.attach_messages)
        if n_msgs:
            names.append(f"{n_msgs} forwarded message(s)")
        return "Attached: " + ", ".join(names) if names else ""

    def _signature(self) -> tuple[str, ...]:
        return tuple(self.query_one(f"#compose-{a}", Input).value for a in FIELDS) + (
            self.query_one("#compose-body", TextArea).text,)

    def on_mount(self) -> None:
        self._initial = self._signature()
        target = "#compose-to" if not self.draft.to else "#compose-body"
        self.query_one(target).focus()

    def _value(self, attr: str) -> str:
        return self.query_one(f"#compose-{attr}", Input).value

    def collect(self, lenient: bool = False) -> Draft:
        """Copy the fields back into the draft and return it (UsageError for a bad
        address or a missing attachment, read as the sending layer reads them).

        `lenient` (keeping a draft): a field that does not parse is kept as typed, so
        leaving never loses a header; only a file that does not exist is left out."""
        split = self.app.service.parse_addresses
        for attr in ("to", "cc", "bcc"):
            text = self._value(attr)
            if lenient:  # kept exactly as typed (a resumed draft reads it back the same)
                setattr(self.draft, attr, [text.strip()] if text.strip() else [])
                continue
            found = split(text)
            if text.count("@") > sum(a.count("@") for a in found):
                # ("bob@x, carol@" would otherwise go to bob alone)
                raise UsageError(f"{attr.capitalize()}: not an email address in {text!r}")
            setattr(self.draft, attr, found)
        self.draft.subject = self._value("subject")
        self.draft.body = self.query_one("#compose-body", TextArea).text
        self.draft.attachments = self._attachments(lenient)
        return self.draft

    def _attachments(self, lenient: bool) -> list[Path]:
        try:
            names = shlex.split(self._value("attach"))
        except ValueError as exc:  # an unclosed quote
            if lenient:
                return list(self.draft.attachments)
            raise UsageError(f"Attach: {exc}", hint="separate files with spaces; quote a "
                             "name that has spaces") from None
        paths = [Path(n).expanduser() for n in names]
        missing = [p for p in paths if not p.is_file()]
        if missing and not lenient:
            raise UsageError(f"no such file to attach: {missing[0]}")
        return [p for p in paths if p.is_file()]

    def _refill(self) -> None:
        self.query_one("#compose-to", Input).value = _join(self.draft.to)
        self.query_one("#compose-cc", Input).value = _join(self.draft.cc)
        self.query_one("#compose-bcc", Input).value = _join(self.draft.bcc)
        self.query_one("#compose-attach", Input).value = shlex.join(
            str(p) for p in self.draft.attachments)
        self.query_one("#compose-subject", Input).value = self.draft.subject or ""
        self.query_one("#compose-body", TextArea).text = self.draft.body or ""

    def action_send(self) -> None:
        try:
            draft = self.collect()
        except MailcliError as exc:
            self.app.show_error(exc)
            return
        if not draft.to and not draft.cc and not draft.bcc:
            self.app.notify("Add a recipient first", severity="warning")
            self.query_one("#compose-to", Input).focus()
            return
        self.dismiss(("send", draft))

    def action_leave(self) -> None:
        if self._signature() == self._initial and not self._edited_externally:
            self.dismiss(None)
            return
        self.dismiss(("keep", self.collect(lenient=True)))

    def action_external_editor(self) -> None:
        try:
            draft = self.collect()
            edited = editor.edit_draft(self.app, draft)
        except SuspendNotSupported:
            self.app.notify("This terminal cannot hand over to $EDITOR; edit here",
                            severity="warning")
            return
        except MailcliError as exc:
            self.app.show_error(exc)
            return
        if edited is not None:
            self.draft = edited
            self._edited_externally = True
            self._refill()
