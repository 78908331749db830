"""Regenerate completions/ and man/ from the click tree (mailcli.cli.main:cli).

    python scripts/gen_artifacts.py          # write the files
    python scripts/gen_artifacts.py --check  # exit 1 if any file is stale

completions: bash, zsh and fish scripts from click's shell-completion support.
man: mailcli(1) with every command and option, and mailcli(5) for the config file.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MAILCLI_STRICT_COMMANDS"] = "1"

from mailcli import __version__  # noqa: E402
from mailcli.cli.main import cli  # noqa: E402

MAN_DATE = "2026-11-28"  # fixed so that regeneration is reproducible; bump on release


def completion(shell: str) -> str:
    env = dict(os.environ, _MAILCLI_COMPLETE=f"{shell}_source")
    out = subprocess.run([sys.executable, "-c", "from mailcli.cli.main import cli; cli(prog_name='mailcli')"],
                         env=env, capture_output=True, text=True, check=False)
    return out.stdout


def esc(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l if l.startswith((".", "'")) else l) for l in text.splitlines())


def walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, path + [name])


def man1() -> str:
    out = [f'.TH MAILCLI 1 "{MAN_DATE}" "mailcli {__version__}" "User Commands"',
           ".SH NAME", "mailcli \\- terminal mail client for IMAP and POP3",
           ".SH SYNOPSIS", ".B mailcli", "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
           ".SH DESCRIPTION", esc(cli.help or "")]
    for path, cmd in walk(cli, ["mailcli"]):
        ctx = click.Context(cmd, info_name=" ".join(path))
        if path == ["mailcli"]:
            out.append(".SH GLOBAL OPTIONS")
        else:
            if isinstance(cmd, click.Group):
                continue_heading = True
            out.append(f".SS {esc(' '.join(path[1:]))}")
            usage = " ".join(cmd.collect_usage_pieces(ctx))
            out += [".B " + esc(" ".join(path)), esc(usage), ".PP", esc(cmd.help or "")]
        for param in cmd.get_params(ctx):
            rec = param.get_help_record(ctx)
            if rec:
                out += [".TP", f".B {esc(rec[0])}", esc(rec[1])]
    out += [".SH EXIT STATUS", ".TP", "0", "done", ".TP", "1",
            "done in part: at least one account or message failed", ".TP", "2",
            "usage or config error", ".TP", "3", "authentication failed", ".TP", "4",
            "message or folder not found", ".TP", "75",
            "temporary: server unreachable, or another fetch holds the lock (cron retries later)",
            ".SH ENVIRONMENT", ".TP", ".B MAILCLI_CONFIG", "config file (default ~/.config/mailcli/config.toml)",
            ".TP", ".B MAILCLI_DATA", "data dir: Maildir cache, index, log (default ~/.local/share/mailcli)",
            ".TP", ".B NO_COLOR", "disable colour",
            ".SH FILES", ".TP", ".I ~/.config/mailcli/config.toml", "see \\fBmailcli\\fR(5)",
            ".TP", ".I ~/.local/share/mailcli/mail/ACCOUNT/FOLDER/", "plain Maildir cache (neomutt, notmuch can read it)",
            ".TP", ".I ~/.local/share/mailcli/index.sqlite3", "the index (rebuild with \\fBmailcli index rebuild\\fR)",
            ".SH EXAMPLES", "Background POP3 downloads from cron, every five minutes:", ".PP",
            ".nf", "*/5 * * * * mailcli fetch \\-\\-quiet home", ".fi",
            ".SH SEE ALSO", "\\fBmailcli\\fR(5), \\fBneomutt\\fR(1), \\fBmbsync\\fR(1)", ""]
    return "\n".join(out)


def man5() -> str:
    from mailcli.config.loader import ACCOUNT_KEYS, GENERAL_KEYS, SERVER_KEYS

    doc = (ROOT / "man" / "mailcli.5.in").read_text()
    keys = ", ".join(sorted(ACCOUNT_KEYS))
    return doc.replace("@VERSION@", __version__).replace("@DATE@", MAN_DATE).replace(
        "@ACCOUNT_KEYS@", keys).replace("@GENERAL_KEYS@", ", ".join(sorted(GENERAL_KEYS))).replace(
        "@SMTP_KEYS@", ", ".join(sorted(SERVER_KEYS)))


def artifacts() -> dict[Path, str]:
    return {
        ROOT / "completions" / "mailcli.bash": completion("bash"),
        ROOT / "completions" / "mailcli.zsh": completion("zsh"),
        ROOT / "completions" / "mailcli.fish": completion("fish"),
        ROOT / "man" / "mailcli.1": man1(),
        ROOT / "man" / "mailcli.5": man5(),
    }


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for path, text in artifacts().items():
        if not text.strip():
            print(f"empty output for {path}", file=sys.stderr)
            return 1
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale)
              + " (run python scripts/gen_artifacts.py)", file=sys.stderr)
        return 1
    if not check:
        print(f"wrote {len(stale)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
