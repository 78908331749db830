"""The full-screen message view: headers (all on demand), attachments, body; n/p walk the
list behind it; the message actions (reply, delete, ...) work here too."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from mailcli.errors import MailcliError
from mailcli.model import Envelope
from mailcli.tui import keys
from mailcli.tui.widgets.message_body import MessageBody
from mailcli.tui.widgets.message_list import MessageList
from mailcli.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from mailcli.service import ShownMessage
    from mailcli.tui.app import MailApp


class MessageScreen(Screen[None]):
    BINDINGS = keys.bindings("view")

    app: MailApp

    def __init__(self, envelope: Envelope, message_list: MessageList | None = None) -> None:
        super().__init__()
        self.envelope = envelope
        self.message_list = message_list

    def compose(self) -> ComposeResult:
        yield MessageBody(id="message")
        yield StatusBar(self.app.clock, id="view-status")
        yield Footer()

    @property
    def body(self) -> MessageBody:
        return self.query_one("#message", MessageBody)

    @property
    def current_envelope(self) -> Envelope | None:
        return self.envelope

    def on_mount(self) -> None:
        self.body.focus()
        self.load(self.envelope)

    @work(thread=True, exclusive=True, exit_on_error=False, group="view")
    def load(self, env: Envelope) -> None:
        try:
            shown = self.app.service.show(env.id, mark_seen=True, all_headers=True)
        except MailcliError as exc:
            self.app.call_from_thread(self.body.clear, f"{exc.title}: {exc.message}")
            return
        self.app.call_from_thread(self._loaded, shown)

    def _loaded(self, shown: ShownMessage) -> None:
        self.envelope = shown.envelope
        if self.message_list is not None:
            self.message_list.replace_envelope(shown.envelope)
        self.body.show_message(shown)
        where = f"{self.envelope.account}/{self.envelope.folder}  #{self.envelope.id}"
        self.query_one("#view-status", StatusBar).set_where(where)

    def update_envelope(self, env: Envelope) -> None:
        if env.id == self.envelope.id:
            self.envelope = env
            self.body.update_envelope(env)

    def action_close(self) -> None:
        self.dismiss()

    def action_scroll_down(self) -> None:
        self.body.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.body.scroll_up(animate=False)

    def action_page_down(self) -> None:
        self.body.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.body.scroll_page_up(animate=False)

    def _step(self, delta: int) -> None:
        lst = self.message_list
        if lst is None:
            return
        idx = lst.source.index_of(self.envelope.id)
        if idx is None:
            idx = lst.cursor
        target = idx + delta
        if not 0 <= target < lst.source.total:
            self.app.notify("No more messages", timeout=2)
            return
        lst.cursor = target
        env = lst.current
        if env is None:
            self.app.notify("Still loading, try again", timeout=2)
            return
        self.envelope = env
        self.load(env)

    def action_next_message(self) -> None:
        self._step(1)

    def action_prev_message(self) -> None:
        self._step(-1)
