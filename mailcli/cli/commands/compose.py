"""`mailcli compose`, `reply REF [--all]`, `forward REF`, `send`.

Interactive (no --body-file): the draft is written to a file under ``<data>/compose/``
as editable header lines (From, To, Cc, Bcc, Subject, Attach), a blank line and the
body; the editor (config ``general.editor``, else $VISUAL, $EDITOR, vi) edits it and
the headers are parsed back. An unchanged draft or an empty body aborts without
sending; an editor that fails or is interrupted aborts too. Either way the draft is
kept in the account's Drafts folder (\\Draft) and the command says where.

Non-interactive: --to/--cc/--bcc (repeatable, comma-separated), --subject,
--body-file FILE (or - for stdin), --attach FILE (repeatable). For reply/forward the
body given goes above the quoted original, and --to/--cc/--bcc add recipients.

Exit codes: 0 sent; 75 queued in the Outbox (SMTP unreachable: `mailcli send` or
`mailcli fetch` retries); 1 not sent (refused, aborted draft) or some recipients refused.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from mailcli.cli.output import emit_json, json_option, settings
from mailcli.errors import MailcliError, PgpError, SendError, UsageError

if TYPE_CHECKING:
    from mailcli.service import Draft, SendResult, Service


def _draft_options(fn: Any) -> Any:
    opts = [
        click.option("--to", "to", multiple=True, metavar="ADDR", help="Recipient (repeatable; comma-separated ok)."),
        click.option("--cc", "cc", multiple=True, metavar="ADDR", help="Cc recipient (repeatable)."),
        click.option("--bcc", "bcc", multiple=True, metavar="ADDR", help="Bcc recipient (repeatable)."),
        click.option("--subject", "subject", default=None, help="Subject line."),
        click.option("--body-file", "body_file", type=click.File("rb"), default=None,
                     help="Take the body from FILE (- for stdin); no editor."),
        click.option("--attach", "attach", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Attach a file (repeatable)."),
        click.option("--account", "-a", "account", default=None, metavar="NAME",
                     help="Send from this account (default: the first, or the replied message's)."),
        click.option("--from", "from_", default=None, metavar="ADDRESS",
                     help="Send as this identity or alias address (default: the account's, or "
                          "for a reply/forward the one the original was written to)."),
        click.option("--sign/--no-sign", "sign", default=None,
                     help="PGP/MIME: sign with your key (default: pgp_sign of the From identity)."),
        click.option("--encrypt/--no-encrypt", "encrypt", default=None,
                     help="PGP/MIME: encrypt to every recipient and yourself; refused if a key is "
                          "missing (default: pgp_encrypt; an answer to encrypted mail is encrypted)."),
        click.option("--yes", "-y", "yes", is_flag=True,
                     help="Send when the editor exits: no review step (for scripts)."),
        json_option,
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _apply(svc: Service, draft: Draft, to: tuple[str, ...], cc: tuple[str, ...], bcc: tuple[str, ...],
           subject: str | None, attach: tuple[Path, ...], add: bool) -> None:
    def addresses(values: tuple[str, ...]) -> list[str]:
        # a part without "@" ("ali") is looked up in the address book
        return [a for v in values for part in _parts(v)
                for a in svc.parse_addresses(svc.resolve_address(part))]

    if add:
        draft.to += addresses(to)
        draft.cc += addresses(cc)
        draft.bcc += addresses(bcc)
    else:
        draft.to, draft.cc, draft.bcc = addresses(to), addresses(cc), addresses(bcc)
    if subject is not None:
        draft.subject = subject
    draft.attachments += list(attach)


def _parts(value: str) -> list[str]:
    """'ali, Bob <b@x>' -> ['ali', 'Bob <b@x>'] (commas inside quotes or <> kept)."""
    parts, depth, quoted, cur = [], 0, False, ""
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth = max(0, depth - 1)
        if ch == "," and not quoted and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _kept(svc: Service, account: str | None, draft: Draft, why: str) -> SendError:
    """Save the draft and return the error to raise (exit 1)."""
    try:
        kept = svc.save_draft(account, draft)
        hint = (f"the draft was kept in Drafts as message {kept} "
                f"(`mailcli compose --draft {kept}` to go on with it)")
    except MailcliError as exc:
        hint = f"the draft could not be kept either: {exc.message}"
    return SendError(f"not sent: {why}", hint=hint)


def _interactive() -> bool:
    """A person at a terminal: the review step asks them (stdin and stderr are a tty)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _editor_pass(svc: Service, draft: Draft, account: str | None) -> tuple[Draft, bool]:
    """Run the editor on the draft: (the edited Draft, whether the text changed), or raise
    (the draft is kept)."""
    import dataclasses
    import tempfile

    from mailcli.service import make_private_dir

    folder = make_private_dir(Path(svc.data_dir) / "compose")
    text = svc.draft_text(draft)
    fd, name = tempfile.mkstemp(prefix="draft-", suffix=".txt", dir=folder)  # 0600, O_EXCL
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    try:
        try:
            rc = subprocess.call([*svc.editor_command(), str(path)])
        except FileNotFoundError as exc:
            raise UsageError(f"cannot run the editor {exc.filename!r}",
                             hint="set editor in [general] or $EDITOR") from None
        except KeyboardInterrupt:
            rc = 130
        new = path.read_text(encoding="utf-8", errors="replace")
        try:
            edited = svc.parse_draft_text(new, draft)
        except UsageError as exc:
            try:  # keep every header the user wrote, bad addresses as written
                keep = svc.parse_draft_text(new, draft, strict=False)
            except UsageError:
                keep = dataclasses.replace(draft, body=new)
            raise _kept(svc, account, keep, exc.message) from None
        if rc != 0:
            raise _kept(svc, account, edited, f"the editor exited with status {rc}")
        return edited, new != text
    finally:
        path.unlink(missing_ok=True)


def _warn_empty_subject(draft: Draft) -> None:
    if not draft.subject.strip():
        click.echo("mailcli: warning: the subject is empty", err=True)


REVIEW_KEYS = "[y]es send, [e]dit, [p]ostpone (save draft), [a]ttach a file, [q]uit (discard)"


def _summary(draft: Draft, pgp: str = "") -> str:
    from mailcli.message.sanitize import safe_line

    lines = [f"From: {safe_line(draft.from_)}"]
    for label, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if values:
            lines.append(f"{label}: {safe_line(', '.join(values))}")
    lines.append(f"Subject: {safe_line(draft.subject)}")
    files = [f"{safe_line(p.name)}" for p in draft.attachments] + [
        safe_line(c.describe()) for c in draft.carried]
    if draft.attach_messages:
        files.append("the original message (message/rfc822)")
    if files:
        lines.append("Attachments: " + ", ".join(files))
    if pgp:
        lines.append(f"PGP: {safe_line(pgp)}")
    if not draft.recipients():
        lines.append("warning: no recipients yet (edit the draft to add To:)")
    if not draft.subject.strip():
        lines.append("warning: the subject is empty")
    if not draft.body.strip():
        lines.append("warning: the body is empty")
    return "\n".join(lines)


def _review(svc: Service, draft: Draft, account: str | None) -> Draft | None:
    """After the editor, on a terminal: send / edit / postpone / attach / quit, as aerc
    and neomutt ask. The Draft to send, or None when it was saved as a draft."""
    while True:
        click.echo("\n" + _summary(draft, svc.pgp_plan(draft) if draft.recipients() else ""), err=True)
        try:
            answer = click.prompt(REVIEW_KEYS + "?", default="", show_default=False, err=True,
                                  prompt_suffix=" ").strip().lower()
        except click.Abort:  # Ctrl-C / Ctrl-D at the prompt: keep what was written
            raise _kept(svc, account, draft, "the review was interrupted") from None
        if answer in ("y", "yes", "s", "send"):
            if not draft.recipients():
                click.echo("no recipients: choose e to add To:", err=True)
                continue
            return draft
        if answer in ("e", "edit"):
            draft, _changed = _editor_pass(svc, draft, account)
        elif answer in ("p", "d", "postpone", "draft"):
            kept = svc.save_draft(account, draft)
            click.echo(f"saved the draft in Drafts as message {kept} "
                       f"(`mailcli compose --draft {kept}` to go on with it)", err=True)
            return None
        elif answer in ("a", "attach"):
            _attach_prompt(draft)
        elif answer in ("q", "quit", "abort"):
            try:
                sure = click.confirm("discard this message?", default=False, err=True)
            except click.Abort:
                sure = False
            if sure:
                where = (f"; the saved draft stays as message {draft.resumed_id}"
                         if draft.resumed_id is not None else "")
                raise SendError("not sent: discarded" + where)
        elif answer:
            click.echo(f"unknown answer {answer[:20]!r}", err=True)


def _attach_prompt(draft: Draft) -> None:
    try:
        name = click.prompt("file to attach", default="", show_default=False, err=True).strip()
    except click.Abort:
        return
    if not name:
        return
    path = Path(name).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        click.echo(f"cannot attach {name!r}: not a readable file", err=True)
        return
    draft.attachments.append(path)


def _interactive_draft(svc: Service, draft: Draft, account: str | None, yes: bool) -> Draft | None:
    """Editor, then (on a terminal, without --yes) the review step. The Draft to send, or
    None when the user saved it as a draft. An unchanged new draft is refused and
    nothing is kept (there is nothing of the user's in it)."""
    edited, changed = _editor_pass(svc, draft, account)
    if not changed and draft.resumed_id is None:
        raise SendError("not sent: the draft was not changed", hint="nothing was saved")
    if not yes and _interactive():
        return _review(svc, edited, account)
    if not edited.body.strip():
        raise _kept(svc, account, edited, "the body is empty")
    return edited


def _send(ctx: click.Context, svc: Service, account: str | None, draft: Draft, body_file: IO[bytes] | None,
          as_json: bool, above_quote: bool, yes: bool = False) -> None:
    if body_file is not None:
        text = body_file.read().decode("utf-8", errors="replace").replace("\r\n", "\n")
        if above_quote and draft.body.strip():
            draft.body = text.rstrip("\n") + "\n" + draft.body
        else:
            draft.body = text
        svc.sign(draft)
        result = svc.send(account, draft)
        _warn_empty_subject(draft)
        _report(ctx, [result], as_json, single=True)
        return
    ready = _interactive_draft(svc, draft, account, yes)
    if ready is None:
        return
    try:
        result = svc.send(account, ready)
    except (UsageError, PgpError) as exc:  # no recipients, a missing key, a cancelled
        raise _kept(svc, account, ready, exc.message) from None  # passphrase: keep the text
    if yes or not _interactive():  # the review said it already
        _warn_empty_subject(ready)
    _report(ctx, [result], as_json, single=True)


def _line(r: SendResult) -> str:
    to = ", ".join(r.recipients)
    if r.status == "sent":
        copy = {"appended": f"; Sent copy in {r.sent_folder}",
                "pending": f"; Sent copy in {r.sent_folder} (cached at the next fetch)",
                "local": f"; Sent copy in local {r.sent_folder}",
                "server": f"; Sent copy filed by the server in {r.sent_folder}",
                "queued": f"; Sent copy queued for {r.sent_folder}"}.get(r.sent_copy or "", "")
        return f"sent {r.message_id} to {to}{copy}"
    if r.status == "queued":
        return f"queued {r.message_id} in the Outbox (id {r.outbox_id})"
    if r.status.endswith("_uploaded"):
        return f"saved {r.message_id} to {r.sent_folder}"
    if r.status.endswith("_queued"):
        return f"still queued: {r.message_id} for {r.sent_folder}"
    return f"{r.status} {r.message_id} (id {r.outbox_id})"


def _report(ctx: click.Context, results: list[SendResult], as_json: bool, single: bool = False) -> None:
    from mailcli.service import redact

    if as_json:
        emit_json(results[0].to_json() if single else [r.to_json() for r in results])
    else:
        for r in results:
            click.echo(_line(r))
    for r in results:
        if r.error:
            level = "warning" if r.status in ("sent", "queued") or r.status.endswith("_queued") else "error"
            click.echo(f"mailcli: {level}: {' '.join(redact(r.error).split())}", err=True)
        if r.hint:
            click.echo(f"hint: {redact(r.hint)}", err=True)
        if r.notice:
            click.echo(f"mailcli: note: {' '.join(redact(r.notice).split())}", err=True)
    codes = [r.exit_code for r in results]
    if any(c not in (0, 75) for c in codes):
        ctx.exit(1)
    if 75 in codes:
        ctx.exit(75)


@click.command()
@click.option("--draft", "draft_ref", default=None, metavar="ID",
              help="Go on with a saved draft (`mailcli drafts` lists them).")
@_draft_options
@click.pass_context
def compose(ctx: click.Context, draft_ref: str | None, to: tuple[str, ...], cc: tuple[str, ...],
            bcc: tuple[str, ...], subject: str | None, body_file: IO[bytes] | None,
            attach: tuple[Path, ...], account: str | None, from_: str | None,
            sign: bool | None, encrypt: bool | None, yes: bool, as_json: bool) -> None:
    """Write a new message and send it (opens $EDITOR unless --body-file is given; then,
    on a terminal, a review step: send, edit, postpone, attach or quit)."""
    svc = settings(ctx).service()
    if draft_ref is not None:
        draft = svc.resume_draft(draft_ref)
        if account and account != draft.account:
            raise UsageError(f"draft {draft_ref} belongs to account {draft.account!r}")
        if from_:
            svc.set_from(draft, from_, draft.account)
        _apply(svc, draft, to, cc, bcc, subject, attach, add=True)
    else:
        draft = svc.new_draft(account, from_)
        _apply(svc, draft, to, cc, bcc, subject, attach, add=False)
    _pgp_choice(draft, sign, encrypt)
    _send(ctx, svc, draft.account, draft, body_file, as_json, above_quote=False, yes=yes)


@click.command()
@click.argument("ref")
@click.option("--all", "all_", is_flag=True, help="Reply to all recipients (except yourself).")
@_draft_options
@click.pass_context
def reply(ctx: click.Context, ref: str, all_: bool, to: tuple[str, ...], cc: tuple[str, ...],
          bcc: tuple[str, ...], subject: str | None, body_file: IO[bytes] | None, attach: tuple[Path, ...],
          account: str | None, from_: str | None, sign: bool | None, encrypt: bool | None,
          yes: bool, as_json: bool) -> None:
    """Reply to message REF (quoted; threading headers set; REF gets \\Answered). A reply
    to an encrypted message is encrypted unless --no-encrypt."""
    svc = settings(ctx).service()
    draft = svc.reply_draft(ref, all=all_)
    _pgp_choice(draft, sign, encrypt)
    _respond(ctx, svc, draft, to, cc, bcc, subject, body_file, attach, account, from_, yes, as_json)


@click.command()
@click.argument("ref")
@click.option("--inline/--attach-original", "inline", default=True,
              help="Quote the original in the body (default), or attach it as message/rfc822.")
@click.option("--no-attachments", "no_attachments", is_flag=True,
              help="Inline forward without the original's attachments (kept by default).")
@_draft_options
@click.pass_context
def forward(ctx: click.Context, ref: str, inline: bool, no_attachments: bool, to: tuple[str, ...],
            cc: tuple[str, ...], bcc: tuple[str, ...], subject: str | None, body_file: IO[bytes] | None,
            attach: tuple[Path, ...], account: str | None, from_: str | None,
            sign: bool | None, encrypt: bool | None, yes: bool, as_json: bool) -> None:
    """Forward message REF, inline (with its attachments) or as an attachment. An inline
    forward of an encrypted message is encrypted unless --no-encrypt."""
    svc = settings(ctx).service()
    draft = svc.forward_draft(ref, inline=inline, attachments=not no_attachments)
    _pgp_choice(draft, sign, encrypt)
    _respond(ctx, svc, draft, to, cc, bcc, subject, body_file, attach, account, from_, yes, as_json)


def _pgp_choice(draft: Draft, sign: bool | None, encrypt: bool | None) -> None:
    """--sign/--no-sign and --encrypt/--no-encrypt: None leaves the identity's default."""
    if sign is not None:
        draft.sign = sign
    if encrypt is not None:
        draft.encrypt = encrypt


def _respond(ctx: click.Context, svc: Service, draft: Draft, to: tuple[str, ...], cc: tuple[str, ...],
             bcc: tuple[str, ...], subject: str | None, body_file: IO[bytes] | None,
             attach: tuple[Path, ...], account: str | None, from_: str | None, yes: bool,
             as_json: bool) -> None:
    """Reply and forward alike: the draft's account and identity unless --account or
    --from say otherwise."""
    if from_ or (account and account != draft.account):
        svc.set_from(draft, from_, account)
    _apply(svc, draft, to, cc, bcc, subject, attach, add=True)
    _send(ctx, svc, draft.account, draft, body_file, as_json, above_quote=True, yes=yes)


@click.command()
@click.option("--account", "-a", "account", default=None, metavar="NAME", help="Only this account.")
@json_option
@click.pass_context
def drafts(ctx: click.Context, account: str | None, as_json: bool) -> None:
    """List the saved drafts (go on with one: `mailcli compose --draft ID`)."""
    from mailcli.message.sanitize import safe_line

    svc = settings(ctx).service()
    items = svc.drafts(account)
    if as_json:
        emit_json([e.to_json() for e in items])
        return
    if not items:
        click.echo("no drafts")
    for e in items:
        date = e.date.strftime("%Y-%m-%d %H:%M") if e.date else "-"
        to = safe_line(e.to or "(no recipients)")
        click.echo(f"{e.id:>6}  {date:<16}  {e.account:<10}  {to[:30]:<30}  "
                   f"{safe_line(e.subject or '(no subject)')}")


@click.command()
@click.option("--account", "-a", "account", default=None, metavar="NAME", help="Only this account.")
@click.option("--list", "list_only", is_flag=True, help="Show what waits in the Outbox; send nothing.")
@click.option("--resend-uncertain", is_flag=True,
              help="Also send messages whose earlier send was interrupted (may duplicate them).")
@json_option
@click.pass_context
def send(ctx: click.Context, account: str | None, list_only: bool, resend_uncertain: bool,
         as_json: bool) -> None:
    """Send the messages waiting in the Outbox (queued while offline)."""
    svc = settings(ctx).service()
    if list_only:
        items = svc.outbox(account)
        if as_json:
            emit_json([i.to_json() for i in items])
            return
        if not items:
            click.echo("the Outbox is empty")
        for i in items:
            click.echo(f"{i.message if i.message is not None else '-':>6}  {i.account:<12} {i.state:<10} "
                       f"{', '.join(i.recipients)}  {i.message_id}"
                       + (f"  ({i.last_error})" if i.last_error else ""))
        return
    results = svc.flush_outbox(account, retry_failed=True, resend_uncertain=resend_uncertain)
    if not results and not as_json:
        click.echo("nothing to send")
    _report(ctx, results, as_json)
