"""Writing mail in the TUI: From, To/Cc/Bcc/Subject/Attach fields and a body TextArea over
a service Draft (new, reply, reply-all, forward, a resumed draft). Ctrl+S sends, Ctrl+G edits
in $EDITOR, Ctrl+F cycles the From through the account's identities (the signature follows),
Esc leaves: an edited draft is kept in the Drafts folder with every header as typed (an
address still being typed is kept as text), an untouched one is dropped.

Typing in To/Cc/Bcc completes the address being typed (the last one of a comma-separated
field) from the address book (`Service.complete_address`, in a worker: an
address_book_command may be slow): the candidates drop down under the field, Up/Down pick
one, Tab takes it, Esc closes the list. Contact names are shown as plain Text."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from mailcli.errors import MailcliError, UsageError
from mailcli.message.sanitize import safe_line
from mailcli.tui import editor, keys

if TYPE_CHECKING:
    from mailcli.service import Draft
    from mailcli.tui.app import MailApp

Composed = tuple[str, "Draft"] | None  # ("send" | "keep", draft), or None: dropped


FIELDS = ("to", "cc", "bcc", "subject", "attach")
ADDRESS_FIELDS = ("to", "cc", "bcc")
COMPLETIONS = 8          # candidates shown at most


def _join(value: list[str]) -> str:
    return ", ".join(value)


def last_address(text: str) -> tuple[str, str]:
    """(what comes before the address being typed, that address): the address is what
    follows the last comma ("bob@x.org, ali" -> ("bob@x.org, ", "ali"))."""
    head, comma, tail = text.rpartition(",")
    before = head + comma + (" " if comma else "")
    return before, tail.strip()


class AddressInput(Input):
    """An Input that notes whether its last change came from typing (completion follows
    the user's typing, not a value set by the program or a paste)."""

    typed = False

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            self.typed = True
        await super()._on_key(event)


class ComposeScreen(Screen[Composed]):
    """Edits `draft`; dismisses with ("send", draft), ("keep", draft) or None (untouched)."""

    BINDINGS = [*keys.bindings("compose"),
                Binding("down", "complete_move(1)", show=False),
                Binding("up", "complete_move(-1)", show=False)]

    app: MailApp

    def __init__(self, draft: Draft, account: str, title: str) -> None:
        super().__init__()
        self.draft = draft
        self.account = account
        self.title_text = title
        self._edited_externally = False
        self._candidates: list[str] = []
        self._completing: str | None = None   # the address field the list belongs to

    def compose(self) -> ComposeResult:
        with Vertical(id="compose"):
            yield Static(Text(self.title_text, style="bold"), markup=False, id="compose-title")
            with Horizontal(classes="field"):
                yield Label("From:", classes="field-label", markup=False)
                yield Static(self._from_text(), markup=False, id="compose-from")
            for label, attr, value in (("To", "to", _join(self.draft.to)),
                                       ("Cc", "cc", _join(self.draft.cc)),
                                       ("Bcc", "bcc", _join(self.draft.bcc)),
                                       ("Subject", "subject", self.draft.subject),
                                       ("Attach", "attach", shlex.join(
                                           str(p) for p in self.draft.attachments))):
                with Horizontal(classes="field", id=f"compose-row-{attr}"):
                    yield Label(f"{label}:", classes="field-label", markup=False)
                    if attr in ADDRESS_FIELDS:
                        yield AddressInput(value, id=f"compose-{attr}")
                    else:
                        yield Input(value, id=f"compose-{attr}")
                if attr == "bcc":
                    completions = OptionList(id="compose-complete")
                    completions.display = False
                    completions.can_focus = False
                    yield completions
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

    # ------------------------------------------------------------------ From
    def _from_choices(self) -> list[str]:
        """The account's From lines; the draft's own first when it is none of them (an
        alias address a reply was written to)."""
        try:
            choices = self.app.service.from_addresses(self.draft.account or self.account)
        except MailcliError:
            choices = []
        current = self.draft.from_
        if current and current not in choices:
            choices = [current, *choices]
        return choices

    def _from_text(self) -> Text:
        text = Text(safe_line(self.draft.from_ or "(no From address)"))
        if len(self._from_choices()) > 1:
            text.append("   Ctrl+F: next identity", style="dim")
        return text

    def action_cycle_from(self) -> None:
        """Send as the account's next identity: From, account and signature follow."""
        choices = self._from_choices()
        if len(choices) < 2:
            self.app.notify("This account has one From address (add [[accounts.NAME."
                            "identities]] for more)", timeout=3)
            return
        at = choices.index(self.draft.from_) if self.draft.from_ in choices else -1
        body = self.query_one("#compose-body", TextArea)
        self.draft.body = body.text
        try:
            self.app.service.set_from(self.draft, choices[(at + 1) % len(choices)])
        except MailcliError as exc:
            self.app.show_error(exc)
            return
        if body.text != (self.draft.body or ""):
            body.text = self.draft.body or ""
        self.query_one("#compose-from", Static).update(self._from_text())

    # ------------------------------------------------------------------ completion
    def on_input_changed(self, event: Input.Changed) -> None:
        field = event.input
        if not isinstance(field, AddressInput):
            return
        attr = (field.id or "").removeprefix("compose-")
        typed, field.typed = field.typed, False
        if not field.has_focus or not (typed or self._completing == attr):
            self._hide_completions()
            return
        before, fragment = last_address(field.value)
        if not fragment:
            self._hide_completions()
            return
        self._completing = attr
        self._lookup(attr, fragment, before.lower())

    @work(thread=True, exclusive=True, exit_on_error=False, group="complete")
    def _lookup(self, attr: str, fragment: str, before: str) -> None:
        try:
            # the addresses already in the field are not offered again
            found = [c.display() for c in
                     self.app.service.complete_address(fragment, limit=COMPLETIONS + 4)
                     if c.address.lower() not in before][:COMPLETIONS]
        except MailcliError:
            found = []
        self.app.call_from_thread(self._show_completions, attr, fragment, found)

    def _show_completions(self, attr: str, fragment: str, found: list[str]) -> None:
        field = self.query_one(f"#compose-{attr}", AddressInput)
        if self._completing != attr or last_address(field.value)[1] != fragment:
            return   # typed on since: a newer lookup answers
        found = [c for c in found if c != fragment]
        if not found or not field.has_focus:
            self._hide_completions()
            return
        self._candidates = found
        completions = self.query_one("#compose-complete", OptionList)
        completions.clear_options()
        completions.add_options([Option(Text(safe_line(c))) for c in found])
        completions.highlighted = 0
        self.query_one("#compose").move_child(completions, after=self.query_one(
            f"#compose-row-{attr}"))
        completions.display = True

    def _hide_completions(self) -> None:
        self._completing = None
        self._candidates = []
        completions = self.query_one("#compose-complete", OptionList)
        if completions.display:
            completions.display = False
            completions.clear_options()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """The field lost the focus (a click elsewhere, Shift+Tab): its list goes too,
        unless the focus comes back at once (a click on the list itself)."""
        if self._completing is not None and isinstance(event.widget, AddressInput):
            self.call_after_refresh(self._hide_unless_focused, self._completing)

    def _hide_unless_focused(self, attr: str) -> None:
        if self._completing == attr and not self.query_one(
                f"#compose-{attr}", AddressInput).has_focus:
            self._hide_completions()

    @property
    def completing(self) -> bool:
        """The completion list is shown (for the field that has the focus)."""
        return self._completing is not None and bool(self._candidates)

    def action_complete_move(self, step: int) -> None:
        if not self.completing:
            return
        completions = self.query_one("#compose-complete", OptionList)
        at = (completions.highlighted or 0) + step
        completions.highlighted = max(0, min(len(self._candidates) - 1, at))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A click (or Enter) on a candidate takes it, as Tab does."""
        if event.option_list.id != "compose-complete" or not self.completing:
            return
        event.stop()
        event.option_list.highlighted = event.option_index
        attr = self._completing
        self.action_complete()
        if attr is not None:
            self.query_one(f"#compose-{attr}", AddressInput).focus()

    def action_complete(self) -> None:
        """Tab: take the highlighted address into the field (replacing the one being
        typed), else move to the next field."""
        if not self.completing:
            self.focus_next()
            return
        assert self._completing is not None
        field = self.query_one(f"#compose-{self._completing}", AddressInput)
        at = self.query_one("#compose-complete", OptionList).highlighted or 0
        before, _fragment = last_address(field.value)
        chosen = self._candidates[min(at, len(self._candidates) - 1)]
        self._hide_completions()
        field.value = before + chosen
        field.cursor_position = len(field.value)

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
        if self.completing:      # Esc closes the completion list first
            self._hide_completions()
            return
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
