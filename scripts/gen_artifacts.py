"""Regenerate completions/ and man/ from the click tree (mailcli.cli.main:cli).

    python scripts/gen_artifacts.py          # write the files
    python scripts/gen_artifacts.py --check  # exit 1 if any file is stale

completions: bash, zsh and fish scripts from click's shell-completion support.
man: mailcli(1) with every command and option, and mailcli(5) for the config file.
README.md: the "Commands" reference between the commands:start/end markers, each
command's --help at a fixed width of 80 columns.
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


def prose(text: str | None) -> str:
    """A click help text as man paragraphs: blank lines -> .PP, \\b blocks kept as is."""
    import inspect

    out = []
    for para in inspect.cleandoc(text or "").split("\n\n"):
        if not para.strip():
            continue
        if out:
            out.append(".PP")
        if para.startswith("\b"):
            out += [".nf", esc(para[1:].strip("\n")), ".fi"]
        else:
            out.append(esc(" ".join(para.split())))
    return "\n".join(out)


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
           ".SH DESCRIPTION", prose(cli.help)]
    for path, cmd in walk(cli, ["mailcli"]):
        ctx = click.Context(cmd, info_name=" ".join(path))
        if path == ["mailcli"]:
            out.append(".SH GLOBAL OPTIONS")
        else:
            out.append(f".SS {esc(' '.join(path[1:]))}")
            usage = " ".join(cmd.collect_usage_pieces(ctx))
            out += [".B " + esc(" ".join(path)), esc(usage), ".PP", prose(cmd.help)]
        for param in cmd.get_params(ctx):
            if isinstance(param, click.Argument):
                continue
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
    from mailcli.config.loader import ACCOUNT_KEYS, GENERAL_KEYS, IDENTITY_KEYS, SERVER_KEYS

    doc = (ROOT / "man" / "mailcli.5.in").read_text()
    keys = ", ".join(sorted(ACCOUNT_KEYS))
    return doc.replace("@VERSION@", __version__).replace("@DATE@", MAN_DATE).replace(
        "@ACCOUNT_KEYS@", keys).replace("@GENERAL_KEYS@", ", ".join(sorted(GENERAL_KEYS))).replace(
        "@SMTP_KEYS@", ", ".join(sorted(SERVER_KEYS))).replace(
        "@IDENTITY_KEYS@", ", ".join(sorted(IDENTITY_KEYS)))


START = "<!-- commands:start (generated by scripts/gen_artifacts.py; do not edit) -->"
END = "<!-- commands:end -->"


def commands_markdown() -> str:
    out = [START, ""]
    contexts: dict[tuple[str, ...], click.Context] = {}
    for path, cmd in walk(cli, ["mailcli"]):
        parent = contexts.get(tuple(path[:-1]))
        ctx = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=80,
                            max_content_width=80)
        contexts[tuple(path)] = ctx
        if isinstance(cmd, click.Group) and path != ["mailcli"]:
            continue
        title = " ".join(path)
        out += [f"### `{title}`", "", "```", cmd.get_help(ctx).rstrip(), "```", ""]
    out.append(END)
    return "\n".join(out)


def readme() -> str:
    text = (ROOT / "README.md").read_text()
    if START not in text or END not in text:
        raise SystemExit("README.md lacks the commands:start/end markers")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + commands_markdown() + tail


def artifacts() -> dict[Path, str]:
    return {
        ROOT / "completions" / "mailcli.bash": completion("bash"),
        ROOT / "completions" / "mailcli.zsh": completion("zsh"),
        ROOT / "completions" / "mailcli.fish": completion("fish"),
        ROOT / "man" / "mailcli.1": man1(),
        ROOT / "man" / "mailcli.5": man5(),
        ROOT / "README.md": readme(),
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
