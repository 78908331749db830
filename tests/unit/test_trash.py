"""Which folder `delete` moves mail to (service/trash.py): config > \\Trash > usual names
(also under a Courier-style INBOX prefix, any case) > a new "Trash"."""
from __future__ import annotations

from mailcli.model import FolderRole, FolderSummary
from mailcli.service.trash import TrashFolder, find_trash


def _f(*names: str, trash: str | None = None) -> list[FolderSummary]:
    return [FolderSummary("a", n, 0, 0, FolderRole.TRASH if n == trash else None)
            for n in names]


def test_special_use_wins_over_usual_names() -> None:
    assert find_trash(_f("INBOX", "Trash", "Müll", trash="Müll")) == TrashFolder("Müll", True)


def test_config_wins_over_special_use() -> None:
    assert find_trash(_f("INBOX", "Bin", trash="Trash"), "Bin") == TrashFolder("Bin", True)
    assert find_trash(_f("INBOX"), "Corbeille") == TrashFolder("Corbeille", False)


def test_usual_names_any_case_and_under_the_inbox_prefix() -> None:
    assert find_trash(_f("INBOX", "Gelöschte Elemente")).name == "Gelöschte Elemente"
    assert find_trash(_f("INBOX", "INBOX/Papierkorb", "INBOX/Sent")).name == "INBOX/Papierkorb"
    assert find_trash(_f("INBOX", "deleted items")).name == "deleted items"
    assert find_trash(_f("INBOX", "Deleted Messages")).name == "Deleted Messages"


def test_none_found_proposes_trash_under_the_prefix_the_folders_use() -> None:
    assert find_trash(_f("INBOX", "Archive")) == TrashFolder("Trash", False)
    assert find_trash(_f("INBOX", "INBOX/Sent", "INBOX/Drafts")) == TrashFolder("INBOX/Trash", False)
    assert find_trash(_f("INBOX")) == TrashFolder("Trash", False)
