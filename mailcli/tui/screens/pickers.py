"""Small modal dialogs: pick a folder (move), ask for a directory (save attachments)."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from mailcli.message.sanitize import safe_line


class FolderPicker(ModalScreen[str | None]):
    """Choose a destination folder; type to filter, Enter to choose, Esc to cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, title: str, folders: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.folders = folders

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            yield Label(Text(self.title_text), id="picker-title", markup=False)
            yield Input(placeholder="filter", id="picker-filter")
            yield OptionList(*self._options(""), id="picker-options")

    def _options(self, text: str) -> list[Option]:
        text = text.lower()
        return [Option(Text(safe_line(f)), id=f) for f in self.folders if text in f.lower()]

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted, "#picker-filter")
    def _submit_filter(self) -> None:
        options = self.query_one("#picker-options", OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            self.dismiss(option.id)
        elif options.option_count == 1:
            self.dismiss(options.get_option_at_index(0).id)

    def key_down(self) -> None:
        self.query_one("#picker-options", OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SavePrompt(ModalScreen[tuple[Path, bool] | None]):
    """Ask where to save attachments (and whether to overwrite)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, title: str, default: Path) -> None:
        super().__init__()
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="save", classes="dialog"):
            yield Label(Text(self.title_text), markup=False)
            yield Input(str(self.default), id="save-dir")
            yield Checkbox("Overwrite existing files", id="save-force")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    @on(Input.Submitted, "#save-dir")
    @on(Button.Pressed, "#save-ok")
    def _ok(self) -> None:
        raw = self.query_one("#save-dir", Input).value.strip()
        if not raw:
            self.app.notify("Give a directory", severity="warning")
            return
        force = self.query_one("#save-force", Checkbox).value
        self.dismiss((Path(raw).expanduser(), force))

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
