"""The click entry point: global options, lazily loaded command groups, and the one
error boundary that turns MailcliError into `mailcli: error: ...` and an exit code.

Imports only click, the stdlib and mailcli.errors at start-up; each command module
imports mailcli.service inside its callbacks (start-up stays under 100 ms).
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mailcli import __version__
from mailcli.errors import ExitCode, MailcliError

if TYPE_CHECKING:
    from mailcli.service import Service

# command name -> "module:attribute" (loaded only when the command runs or --help lists it)
COMMANDS = {
    "account": "mailcli.cli.commands.account:account",
    "fetch": "mailcli.cli.commands.fetch:fetch",
    "folders": "mailcli.cli.commands.read:folders",
    "list": "mailcli.cli.commands.read:list_",
    "show": "mailcli.cli.commands.show:show",
    "search": "mailcli.cli.commands.read:search",
    "attachments": "mailcli.cli.commands.show:attachments",
    "open": "mailcli.cli.commands.open:open_",
    "flag": "mailcli.cli.commands.change:flag",
    "folder": "mailcli.cli.commands.folder:folder",
    "move": "mailcli.cli.commands.change:move",
    "delete": "mailcli.cli.commands.change:delete",
    "compose": "mailcli.cli.commands.compose:compose",
    "reply": "mailcli.cli.commands.compose:reply",
    "forward": "mailcli.cli.commands.compose:forward",
    "send": "mailcli.cli.commands.compose:send",
    "drafts": "mailcli.cli.commands.compose:drafts",
    "contacts": "mailcli.cli.commands.contacts:contacts",
    "quota": "mailcli.cli.commands.quota:quota",
    "index": "mailcli.cli.commands.index:index",
    "tui": "mailcli.cli.commands.tui:tui",
    "watch": "mailcli.cli.commands.watch:watch",
}


class CommandLoadError(MailcliError):
    """A command's module is missing or broken: an incomplete installation."""

    title = "Broken installation"


class LazyGroup(click.Group):
    """Commands are imported only when they run or when --help lists them. A command whose
    module cannot be imported is an error (never a silently missing command)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise CommandLoadError(f"command {name!r} cannot be loaded: {exc}",
                                   "the installation is incomplete; reinstall mailcli") from exc
        _accept_global_options(command)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        """`mailcli lst` -> "No such command 'lst'. Did you mean 'list'?" """
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
            if close:
                raise click.UsageError(f"No such command {name!r}. Did you mean {close[0]!r}?",
                                       ctx=ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            # click turns EPIPE into exit 1; a reader that closed the pipe (`| head`) is
            # not a failure: raised as our own type, made exit 0 by main()
            raise ClosedPipe() from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            try:
                cmd = self.get_command(ctx, name)
            except CommandLoadError:
                rows.append((name, "(cannot be loaded: broken installation)"))
                continue
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class ClosedPipe(Exception):
    """stdout's reader went away (`mailcli list | head`)."""


def _bump_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        ctx.find_root().obj.verbose += value


def _accept_global_options(command: click.Command) -> None:
    """`mailcli list -v` works like `mailcli -v list` (git, aerc): a hidden -v on every
    command (--debug is read from the whole command line anyway)."""
    if getattr(command, "_mailcli_globals", False):
        return
    command._mailcli_globals = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_global_options(sub)
    names = {o for p in command.params for o in getattr(p, "opts", [])}
    if "-v" not in names and "--verbose" not in names:
        command.params.append(click.Option(["-v", "--verbose", "_global_verbose"], count=True,
                                           hidden=True, expose_value=False,
                                           callback=_bump_verbose, help="Log progress to stderr."))
    if "--debug" not in names:
        command.params.append(click.Option(["--debug", "_global_debug"], is_flag=True,
                                           hidden=True, expose_value=False,
                                           help="Protocol traces; tracebacks on errors."))


class Settings:
    """Global options, handed to commands through click's context object."""

    def __init__(self, config: str | None, verbose: int, debug: bool) -> None:
        self.config_path = config
        self.verbose = verbose
        self.debug = debug
        self._service: Service | None = None

    def service(self) -> Service:
        """The one service API, created on first use (loads config, sets up logging)."""
        if self._service is None:
            from mailcli.cli.logging import setup_logging
            from mailcli.service import Service

            self._service = service = Service.open(self.config_path, prompt=_tty_prompt())
            # closed when the whole command line's context ends (the index's WAL is
            # checkpointed then, not left to the interpreter's teardown, which run() skips)
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                ctx.find_root().call_on_close(service.close)
            setup_logging(service.data_dir, self.verbose, self.debug)
        return self._service


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mailcli")
@click.option("--config", "config", metavar="PATH", envvar="MAILCLI_CONFIG",
              help="Config file [env MAILCLI_CONFIG; default ~/.config/mailcli/config.toml].")
@click.option("-v", "--verbose", count=True, help="Log progress to stderr.")
@click.option("--debug", is_flag=True, help="Log protocol traces (secrets redacted); tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int, debug: bool) -> None:
    """mailcli: a terminal mail client for IMAP and POP3.

    Two-way IMAP sync, exactly-once POP3 download, offline reading and search
    from a local Maildir cache, sending with Sent copies, and a TUI.
    """
    ctx.obj = Settings(config, verbose, debug)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the one place errors become messages and exit codes."""
    # Everything mailcli writes (index, Maildirs, logs, drafts, config) is private, whatever
    # the user's umask; the creators also ask for 0600/0700 explicitly. (Restored on the
    # way out, for callers that run main() inside a longer-lived process.)
    umask = os.umask(0o077)
    try:
        _main(argv)
    finally:
        os.umask(umask)


def run() -> None:
    """The `mailcli` console script and `python -m mailcli`: main(), then a quick exit.

    Tearing the interpreter down (freeing every module and object) costs ~18 ms, more than
    a no-change fetch spends on the network. Everything mailcli must finish is finished by
    then: the service (and with it the index) was closed with the command's context, and
    below stdout/stderr are flushed and the atexit handlers run (logging's), as at a normal
    exit. The normal exit remains when another non-daemon thread still runs (it would be
    waited for) or the exit status is not a number from 0 to 255. main() itself keeps
    raising SystemExit, for callers that run it in-process (tests).
    """
    import threading

    try:
        main()
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int) or not 0 <= code <= 255 or any(
            t.is_alive() and not t.daemon and t is not threading.main_thread()
            for t in threading.enumerate()):
        sys.exit(code)
    import atexit

    try:
        code = _flush_for_exit(code)
        atexit._run_exitfuncs()
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    os._exit(code)


def _flush_for_exit(code: int) -> int:
    """Flush stdout and stderr as the interpreter's exit would. A stream closed from the
    start (None) or whose reader went away (EPIPE) is no failure (see _quiet_stdout);
    another error writing what was printed (a full disk) makes the status 120, as
    Python's own final flush does."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
        except OSError:
            code = 120
    return code


def _main(argv: list[str] | None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rv = cli.main(args=argv, prog_name="mailcli", standalone_mode=False)
    except MailcliError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _say_error(exc.message, exc.hint)
        _log_exit(argv, int(exc.exit_code), exc.message)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("mailcli: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:
        click.echo("mailcli: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare `mailcli` is a request for orientation: the help on stdout, exit 0 (like
        # gh, docker, kubectl). A group without its subcommand (`mailcli account`) is an
        # incomplete command: its help on stderr, exit 2. Never squashed into one line.
        bare = exc.ctx is None or exc.ctx.parent is None
        click.echo(exc.ctx.get_help() if exc.ctx is not None else "", err=not bare)
        sys.exit(0 if bare else int(ExitCode.USAGE))
    except ClosedPipe:
        _quiet_stdout()
        sys.exit(0)
    except click.UsageError as exc:
        # click's parse errors, as one line like every other error, exit 2
        path = exc.ctx.command_path if exc.ctx is not None else "mailcli"
        _say_error(exc.format_message(), f"see '{path} --help'")
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        _say_error(exc.format_message(), None)
        sys.exit(int(ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)
    except Exception as exc:  # the last line of defence: never a bare traceback
        if debug:
            raise
        _say_error(*_unexpected(exc))
        _log_exit(argv, int(ExitCode.PARTIAL), _unexpected(exc)[0])
        sys.exit(int(ExitCode.PARTIAL))
    if rv:
        _log_exit(argv, int(rv), None)
    sys.exit(int(rv or 0))


def _quiet_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so that the
    interpreter's final flush does not fail again (Python's documented EPIPE recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _log_exit(argv: list[str] | None, code: int, message: str | None) -> None:
    """Every failed run leaves its line in mailcli.log (cron has nobody reading stderr).
    Only once logging is set up (the data dir is known): never onto stderr a second time."""
    from mailcli.cli import logging as cli_logging

    if not cli_logging.installed():
        return
    import logging

    args = argv if argv is not None else sys.argv[1:]
    command = next((a for a in args if a in COMMANDS), "mailcli")
    logging.getLogger("mailcli").error("%s exited %d%s", command, code,
                                       f": {message}" if message else "",
                                       extra=cli_logging.FILE_ONLY)


def _unexpected(exc: Exception) -> tuple[str, str]:
    """The message and hint for an exception no layer turned into a MailcliError."""
    import sqlite3

    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        # "file is not a database", "database disk image is malformed": not a bug to report
        return (f"the index is damaged: {exc}",
                "move index.sqlite3 out of the data dir, then run `mailcli index rebuild` "
                "(the Maildirs keep every message)")
    return (f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback, and please report it")


def _tty_prompt() -> Callable[[str], str] | None:
    """A hidden password prompt, only when a person is at the terminal (never under cron)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def prompt(text: str) -> str:
        return click.prompt(text, hide_input=True, default="", show_default=False, err=True)

    return prompt


def _say_error(message: str, hint: str | None) -> None:
    """The error line (and hint): redacted, and neutralized, since either may quote a
    server (an IMAP NO text, an SMTP 535 reply) that must not drive the terminal."""
    from mailcli.message.sanitize import safe_line
    from mailcli.service import redact

    click.echo(f"mailcli: error: {safe_line(redact(message))}", err=True)
    if hint:
        click.echo(f"hint: {safe_line(redact(hint))}", err=True)
