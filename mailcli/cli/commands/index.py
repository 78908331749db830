"""`mailcli index rebuild`: re-derive the SQLite index from the Maildir cache (ids, UIDs
and sync state survive; see mailcli.store.rebuild)."""
from __future__ import annotations

import click

from mailcli.cli.output import emit_json, json_option, settings


@click.group()
def index() -> None:
    """Maintain the local index (index.sqlite3)."""


@index.command()
@json_option
@click.pass_context
def rebuild(ctx: click.Context, as_json: bool) -> None:
    """Rebuild the index from the Maildirs (after a crash, or edits by other programs);
    queued outgoing mail is restored from its records. The search index starts afresh:
    words of messages other programs deleted from the Maildir leave it."""
    report = settings(ctx).service().rebuild_index()
    doc = {"messages": report.messages, "folders": report.folders,
           "kept_ids": report.kept_ids, "new_ids": report.new_ids,
           "outbox_restored": report.outbox, "leftover_words_dropped": report.leftovers}
    if as_json:
        emit_json(doc)
        return
    click.echo(f"indexed {report.messages} messages in {report.folders} folders "
               f"({report.kept_ids} ids kept, {report.new_ids} new)")
    if report.leftovers:
        click.echo(f"dropped the words of {report.leftovers} messages other programs had "
                   f"deleted from the Maildir")
    if report.outbox:
        click.echo(f"restored {report.outbox} outgoing messages to the Outbox from their records")
