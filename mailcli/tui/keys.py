"""The key bindings: mutt/aerc-like defaults, each with a stable action id that the config
file can rebind (``[tui.keys]`` maps action id -> key, e.g. ``reply = "a"``).

One table drives the BINDINGS of the app, the screens and the list widget, the help
screen and the Textual keymap (``App.set_keymap``), so they cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    id: str            # action id (config name), also the Textual binding id
    keys: str          # default key(s), comma separated, Textual key names
    action: str        # Textual action string
    description: str
    scope: str         # "app" | "list" | "tree" | "view" | "main" | "compose"
    show: bool = False  # shown in the footer


KEYS: tuple[Key, ...] = (
    # on the current message, from the main screen and the message view
    Key("reply", "r", "reply", "Reply", "app", True),
    Key("reply_all", "R", "reply_all", "Reply all", "app"),
    Key("forward", "f", "forward", "Forward", "app"),
    Key("delete", "d", "delete", "Delete", "app", True),
    Key("move", "m", "move", "Move", "app", True),
    Key("save", "s", "save_attachments", "Save attachments", "app"),
    Key("toggle_read", "N", "toggle_read", "Read/unread", "app"),
    Key("toggle_flag", "F", "toggle_flag", "Flag/unflag", "app"),
    Key("headers", "H", "toggle_headers", "Headers", "app"),
    Key("open_part", "o", "open_part", "Open HTML part / attachment with the desktop", "app"),
    Key("undo", "u", "undo", "Undo the last change not yet on the server", "app"),
    Key("mark_all_read", "A", "mark_all_read", "Mark all read (the selection or the list)", "app"),
    Key("compose", "c", "compose", "Compose", "app", True),
    Key("drafts", "D", "resume_draft", "Resume a draft", "app"),
    Key("sync", "g", "sync", "Sync", "app", True),
    Key("help", "question_mark", "help", "Help", "app", True),
    Key("quit", "q", "app.quit", "Quit", "main", True),
    # main screen
    Key("search", "slash", "search", "Search", "main", True),
    Key("clear_search", "escape", "clear_search", "Leave search", "main"),
    Key("sort", "O", "cycle_sort", "Sort order (date, sender, subject, size)", "main"),
    Key("sidebar", "b", "toggle_sidebar", "Show/hide/narrow the folder sidebar", "main"),
    Key("threads", "T", "toggle_threads", "Threads", "main"),
    Key("focus_next", "tab", "focus_next_pane", "Next pane", "main"),
    # message list
    Key("down", "j,down", "cursor_down", "Next message", "list"),
    Key("up", "k,up", "cursor_up", "Previous message", "list"),
    Key("open", "enter", "open", "Open message", "list"),
    Key("select", "t,space", "toggle_select", "Select/unselect (then act on the selection)",
        "list"),
    Key("page_down", "pagedown", "page_down", "Page down", "list"),
    Key("page_up", "pageup", "page_up", "Page up", "list"),
    Key("first", "home", "first", "First message", "list"),
    Key("last", "end,G", "last", "Last message", "list"),
    # folder tree
    Key("tree_down", "j", "cursor_down", "Next folder", "tree"),
    Key("tree_up", "k", "cursor_up", "Previous folder", "tree"),
    # message view
    Key("close", "q,escape", "close", "Close", "view", True),
    Key("scroll_down", "j,down", "scroll_down", "Scroll down", "view"),
    Key("scroll_up", "k,up", "scroll_up", "Scroll up", "view"),
    Key("view_page_down", "space,pagedown", "page_down", "Page down", "view"),
    Key("view_page_up", "pageup", "page_up", "Page up", "view"),
    Key("next_message", "n,J", "next_message", "Next message", "view", True),
    Key("prev_message", "p,K", "prev_message", "Previous message", "view", True),
    # composer
    Key("send", "ctrl+s", "send", "Send", "compose", True),
    Key("external_editor", "ctrl+g", "external_editor", "Edit in $EDITOR", "compose", True),
    Key("cycle_from", "ctrl+f", "cycle_from", "From: the account's next identity", "compose",
        True),
    Key("complete", "tab", "complete", "To/Cc/Bcc: take the address from the list, else "
        "next field (↑/↓ pick)", "compose"),
    Key("leave", "escape", "leave", "Close the list, else close (keeps edits in Drafts)",
        "compose", True),
)

BY_ID = {k.id: k for k in KEYS}


def bindings(scope: str) -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """Textual Bindings for one scope (ids = action ids, so the keymap can rebind them)."""
    return [Binding(k.keys, k.action, k.description, show=k.show, id=k.id)
            for k in KEYS if k.scope == scope]


def keymap(configured: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The Textual keymap for the config's ``[tui.keys]``, and the unknown action ids."""
    known = {a: k for a, k in configured.items() if a in BY_ID}
    unknown = sorted(a for a in configured if a not in BY_ID)
    return known, unknown


_NAMES = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter",
          "pagedown": "PgDn", "pageup": "PgUp", "space": "Space", "home": "Home",
          "end": "End", "tab": "Tab", "down": "↓", "up": "↑"}


def display_keys(keys: str) -> str:
    """'j,down' -> 'j ↓' for the help screen."""
    return " ".join(_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def effective(configured: dict[str, str]) -> list[tuple[Key, str]]:
    """Every binding with the key(s) in force after the config's rebinding."""
    return [(k, configured.get(k.id, k.keys)) for k in KEYS]
