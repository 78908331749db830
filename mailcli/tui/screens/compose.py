"""Writing mail in the TUI: To/Cc/Subject fields and a body TextArea over a service Draft
(new, reply, reply-all, forward). Ctrl+S sends, Ctrl+G edits in $EDITOR, Esc leaves:
an edited draft is kept in the Drafts folder (nothing typed is lost), an untouched one is
dropped."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static, TextArea

from mailcli.errors import MailcliError
from mailcli.message.sanitize import safe_line
from mailcli.tui import editor

if TYPE_CHECKING:
    from mailcli.service import Draft
    from mailcli.tui.app import MailApp

Composed = tuple[str, "Draft"] | None  # ("send" | "keep", draft), or None: dropped


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
                                       ("Subject", "subject", self.draft.subject)):
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
        names = [safe_line(p.name) for p in self.draft.attachments]
        n_msgs = len(self.draft.attach_messages)
        if n_msgs:
            names.append(f"{n_msgs} forwarded message(s)")
        return "Attached: " + ", ".join(names) if names else ""

    def _signature(self) -> tuple[str, ...]:
        return tuple(self.query_one(f"#compose-{a}", Input).value for a in ("to", "cc", "subject")) + (
            self.query_one("#compose-body", TextArea).text,)

    def on_mount(self) -> None:
        self._initial = self._signature()
        target = "#compose-to" if not self.draft.to else "#compose-body"
        self.query_one(target).focus()

    def collect(self) -> Draft:
        """Copy the fields back into the draft and return it (UsageError for a bad
        address, read as the sending layer reads them)."""
        split = self.app.service.parse_addresses
        self.draft.to = split(self.query_one("#compose-to", Input).value)
        self.draft.cc = split(self.query_one("#compose-cc", Input).value)
        self.draft.subject = self.query_one("#compose-subject", Input).value
        self.draft.body = self.query_one("#compose-body", TextArea).text
        return self.draft

    def _refill(self) -> None:
        self.query_one("#compose-to", Input).value = _join(self.draft.to)
        self.query_one("#compose-cc", Input).value = _join(self.draft.cc)
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
        try:
            draft = self.collect()
        except MailcliError:  # a half-typed address: keep the text, not the fields
            draft = self.draft
            draft.body = self.query_one("#compose-body", TextArea).text
        self.dismiss(("keep", draft))

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
