"""The Textual TUI of mailcli (`mailcli tui`): a thin shell over mailcli.service.

Layout of this package (STYLE.md practice 13): app.py (the App, bindings, routing) with
app.tcss, screens/ (main, message view, help, compose, pickers), widgets/ (folder tree,
virtual message list, message body, status bar), messages.py (Textual Messages), keys.py
(rebindable key table), actions.py (what the keys do, through the service, in thread
workers, on the typed mailcli.service.Service), rows.py/threads.py (paging and threading
of the list, no UI). Importing this package imports no Textual; ``run`` does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.service import Service


def run(service: Service) -> None:
    """Run the TUI on a configured Service until the user quits."""
    from mailcli.tui.app import MailApp

    MailApp(service, watch=True).run()
