"""The folder tree: accounts, their folders (nested by "/"), unread counts in bold."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mailcli.model import FolderSummary
from mailcli.tui import display, keys
from mailcli.tui.messages import FolderSelected

Target = tuple[str, str | None]   # (account, folder); folder None = the account node


def _label(name: str, total: int, unread: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(name, style="bold" if unread else "")
    if unread:
        text.append(f" ({unread})", style="bold")
    return text


class FolderTree(Tree[Target]):
    """Accounts and folders. Selecting a node posts FolderSelected."""

    BINDINGS = keys.bindings("tree")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Mail", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.summaries: list[FolderSummary] = []
        self._by_target: dict[Target, TreeNode[Target]] = {}

    def show(self, accounts: list[str], summaries: list[FolderSummary]) -> None:
        """(Re)build the tree; keeps the cursor on the same folder when it still exists."""
        current = self.cursor_node.data if self.cursor_node else None
        self.summaries = summaries
        self.clear()
        self._by_target = {}
        by_account: dict[str, list[FolderSummary]] = {a: [] for a in accounts}
        for s in summaries:
            by_account.setdefault(s.account, []).append(s)
        for account, folders in by_account.items():
            unread = sum(f.unread for f in folders)
            total = sum(f.total for f in folders)
            acc_node = self.root.add(_label(display.folder_label(account), total, unread),
                                     data=(account, None), expand=True)
            self._by_target[(account, None)] = acc_node
            for f in folders:
                parent = acc_node
                parts = f.folder.split("/")
                for depth in range(1, len(parts)):
                    key = (account, "/".join(parts[:depth]))
                    if key not in self._by_target:  # a path level that is no folder itself
                        self._by_target[key] = parent.add(display.folder_label(key[1] or ""),
                                                          data=None, expand=True)
                    parent = self._by_target[key]
                key = (account, f.folder)
                label = _label(display.folder_label(f.folder), f.total, f.unread)
                if key in self._by_target:  # a parent created above before its own summary
                    self._by_target[key].set_label(label)
                    self._by_target[key].data = key
                else:
                    self._by_target[key] = parent.add_leaf(label, data=key)
        if current in self._by_target:
            self.call_after_refresh(self.move_cursor, self._by_target[current])

    def select_target(self, account: str, folder: str | None) -> None:
        node = self._by_target.get((account, folder))
        if node is not None:
            self.call_after_refresh(self.move_cursor, node)

    def folders_of(self, account: str) -> list[str]:
        return [s.folder for s in self.summaries if s.account == account]

    def on_tree_node_selected(self, event: Tree.NodeSelected[Target]) -> None:
        event.stop()
        if event.node.data is not None:
            account, folder = event.node.data
            self.post_message(FolderSelected(account, folder))
