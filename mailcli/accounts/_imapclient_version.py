"""Import imapclient without importlib.metadata (start-up of every `mailcli fetch`).

imapclient/version.py asks ``importlib.metadata.version("imapclient")`` for its own
version when imported: that imports importlib.metadata (with zipfile, csv, inspect) and
scans every sys.path entry for distributions, a measurable part of a no-change sync's
0.1 s budget. Nothing in mailcli reads that version, but it should stay right: this module
reads it from the name of imapclient's ``*.dist-info`` directory (one listdir) and
installs an equivalent ``imapclient.version`` module before imapclient is imported. If
the directory is not found (an unusual install), it does nothing and imapclient imports
as usual.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types


def _install() -> None:
    if "imapclient.version" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("imapclient")
        if spec is None or not spec.origin:
            return
        site = os.path.dirname(os.path.dirname(spec.origin))
        names = [n for n in os.listdir(site)
                 if n.lower().startswith("imapclient-") and n.endswith(".dist-info")]
    except (OSError, ImportError, ValueError):
        return
    if len(names) != 1:
        return
    version = names[0][len("imapclient-"):-len(".dist-info")]
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return
    module = types.ModuleType("imapclient.version")
    module.version = version  # type: ignore[attr-defined]
    module.version_info = (int(parts[0]), int(parts[1]), int(parts[2]), "final")  # type: ignore[attr-defined]
    sys.modules["imapclient.version"] = module


_install()
