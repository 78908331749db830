"""Shell completion of account and folder names (click's shell_complete; the generated
bash/zsh/fish scripts in completions/ call `mailcli` back for them). Reads the config and
the local cache only, never the network; any failure completes nothing (a broken config
must not spill errors into the user's prompt)."""
from __future__ import annotations

import click
from click.shell_completion import CompletionItem


def _service(ctx: click.Context):  # type: ignore[no-untyped-def]
    from mailcli.service import Service

    root = ctx.find_root()
    path = root.params.get("config") if root.params else None
    return Service.open(path)


def accounts(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The configured account names starting with `incomplete`."""
    try:
        svc = _service(ctx)
        try:
            names = svc.account_names()
        finally:
            svc.close()
    except Exception:  # noqa: BLE001 - completion must stay silent
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def folders(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The cached folder names (of the -a ACCOUNT given, else of every account)."""
    account = ctx.params.get("account") if ctx.params else None
    try:
        svc = _service(ctx)
        try:
            names = sorted({s.folder for s in svc.folders(account)})
        finally:
            svc.close()
    except Exception:  # noqa: BLE001 - completion must stay silent
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]
