"""`mailcli account add`: the set-up wizard. Every answer is also a flag, so that it can
run without a terminal; whatever is missing is asked (on stderr, stdout stays quiet).
POP3 accounts are asked explicitly whether mail stays on the server. The login is tested
before anything is written (--no-test skips it); the config file keeps its existing
content, and an existing account is never overwritten. Given --email and no --host, the
servers are discovered first (mailcli.discovery through service.setup) and shown with
their source; --yes accepts them, a terminal is asked, anything else exits 2."""
from __future__ import annotations

import sys
from typing import Any

import click

from mailcli.cli.output import note
from mailcli.errors import AuthError, MailcliError, TemporaryError, TLSError, UsageError


def _ask(text: str, flag: str, optional: bool = False, **kw: Any) -> Any:
    return _answered(lambda: click.prompt(text, err=True, **kw), flag,
                     kw.get("default") if optional else _REQUIRED)


_REQUIRED = object()
_asked = [0]   # questions asked in this run: a wizard (not all flags) may retry a step
_RETRIES = 3


def _check(test: Any, problem: str) -> Any:
    """A click value_proc: the answer is checked as it is given and asked again when it
    is wrong (click.prompt repeats the question after 'Error: ...')."""
    def proc(value: str) -> str:
        value = value.strip()
        why = test(value)
        if why:
            raise click.UsageError(why if isinstance(why, str) else problem)
        return value
    return proc


def _answered(question: Any, flag: str, fallback: Any = _REQUIRED) -> Any:
    """Ask. When the input ends first (a script, cron, `< /dev/null`), an optional
    question takes its default, and a missing answer is a usage error naming its flag
    (not an 'interrupted' exit 130)."""
    _asked[0] += 1
    try:
        return question()
    except click.exceptions.Abort:
        if sys.stdin is not None and sys.stdin.isatty():
            raise  # Ctrl-C / Ctrl-D at a terminal: interrupted
        click.echo("", err=True)  # end the prompt's line: the error (or next prompt) starts afresh
        if fallback is not _REQUIRED:
            return fallback
        raise UsageError(f"account add: no answer for {flag} (input ended)",
                         hint="give it as a flag, see `mailcli account add --help`") from None


@click.command()
@click.option("--name", help="Account name (letters, digits, '.', '_', '-').")
@click.option("--protocol", type=click.Choice(["imap", "pop3"]), help="imap or pop3.")
@click.option("--host", help="Server host name.")
@click.option("--port", type=click.IntRange(1, 65535), help="Server port [default from protocol and security].")
@click.option("--security", type=click.Choice(["tls", "starttls", "none"]),
              help="tls (implicit), starttls, or none (loopback only).")
@click.option("--tls-ca-file", type=click.Path(dir_okay=False, exists=True),
              help="Also trust this CA / self-signed certificate.")
@click.option("--username", help="Login name.")
@click.option("--password-command", metavar="CMD", help="Command printing the password (e.g. 'pass show mail/work').")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password.")
@click.option("--keyring", "use_keyring", is_flag=True,
              help="Store the password in the system keyring (asked for, hidden).")
@click.option("--email", help="Your address for sending.")
@click.option("--display-name", help="Your name for sending.")
@click.option("--leave-on-server/--delete-after-download", "leave", default=None,
              help="POP3: keep downloaded mail on the server, or delete it once stored here.")
@click.option("--keep-days", type=click.IntRange(min=1),
              help="POP3 with --leave-on-server: delete from the server N days after download.")
@click.option("--smtp-host", help="SMTP server for sending (optional).")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="SMTP port [587 starttls, 465 tls].")
@click.option("--smtp-security", type=click.Choice(["tls", "starttls", "none"]), help="SMTP security.")
@click.option("--no-test", is_flag=True, help="Do not test the login before writing the config.")
@click.option("--no-discover", is_flag=True,
              help="With --email: do not look the servers up (ask or take them from flags).")
@click.option("--yes", "-y", is_flag=True,
              help="Accept the discovered servers (and OAuth2 where proposed) without asking.")
@click.option("--auth", type=click.Choice(["password", "oauth2"]),
              help="Sign in with a password or OAuth2 [default: what discovery proposes].")
@click.option("--oauth2-client-id", metavar="ID", help="OAuth2: your client id at the provider.")
@click.pass_context
def add(ctx: click.Context, /, **opts: Any) -> None:
    """Add an account (a wizard; every answer is also a flag).

    Asks what the flags do not say, tests the login, then adds the account to the
    config file (keeping what is there; an existing account is never overwritten).
    Given --email without --host, it first finds the servers: a built-in table of
    common providers (no network), the domain's autoconfig file, the Thunderbird
    ISPDB, DNS SRV records, the MX host's provider, and last the usual host names
    probed with TLS verified. It shows what it found and where from, and asks
    (--yes accepts; with no terminal and no --yes it exits 2, writing nothing).
    For a provider whose SMTP server files sent mail into Sent itself (Gmail,
    Outlook.com, Microsoft 365) it writes server_saves_sent = true: no second copy.
    """
    from mailcli.service import setup

    settings = ctx.find_root().obj
    path = setup.config_path(settings.config_path)
    _asked[0] = 0
    opts["_taken"] = taken = setup.account_names(path)
    if opts["name"] and opts["name"] in taken:   # at once, not after ten questions
        raise UsageError(f"account {opts['name']!r} already exists in {path}",
                         hint="choose another --name (`mailcli account list` shows them)")
    if opts["email"] and not opts["host"] and not opts["no_discover"]:
        from mailcli.cli.commands.account_discover import discover_step

        discover_step(opts, setup)
    oauth2 = opts["auth"] == "oauth2"
    fields, smtp, password = _answers(opts, setup)
    new = setup.prepare_account(path, opts["name"], fields, smtp)
    if oauth2:
        note(f"sign in after this with: mailcli account authorize {opts['name']}")
    elif not opts["no_test"]:
        for attempt in range(_RETRIES + 1):
            try:
                # a typed (keyring) password is tested as given; a password_command or
                # password_env is resolved from the account as it will be used
                info = setup.check_login(new.account, password if opts["use_keyring"] else None)
                break
            except MailcliError as exc:
                # a wizard asks again for what failed, keeping every other answer
                if not _asked[0] or attempt == _RETRIES or \
                        not _retry_step(exc, opts, fields, setup, path):
                    raise _nothing_written(exc) from exc
                if opts["use_keyring"] and isinstance(exc, AuthError):
                    password = _ask(f"Password for {fields['username']}", "the keyring password",
                                    hide_input=True)
                new = setup.prepare_account(path, opts["name"], fields, smtp)
        note(f"login ok: {info['server']} ({info['folders']} folder"
             f"{'s' if info['folders'] != 1 else ''})")
    if password is not None and opts["use_keyring"]:
        setup.store_keyring_password(new.account, password)  # fails before anything is written
    setup.save_account(new)
    click.echo(f"added account {new.account.name!r} to {path}")
    click.echo(f"fetch its mail with: mailcli fetch {new.account.name}")


def _answers(o: dict[str, Any], setup: Any) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """Fill in every missing answer by asking; returns (fields, smtp, keyring password)."""
    sources = [k for k in ("password_command", "password_env", "use_keyring") if o[k]]
    if len(sources) > 1:
        raise UsageError("give only one of --password-command, --password-env, --keyring")
    oauth2 = o["auth"] == "oauth2"
    if oauth2 and sources:
        raise UsageError("--password-command, --password-env and --keyring are for --auth password")
    taken = o.get("_taken") or set()
    default_name = o.get("name_default") or "work"
    while default_name in taken:
        default_name += "2"
    o["name"] = o["name"] or _ask("Account name", "--name", default=default_name,
                                  value_proc=_check(lambda v: _name_problem(v, taken), ""))
    o["protocol"] = o["protocol"] or _ask("Protocol", "--protocol",
                                          type=click.Choice(["imap", "pop3"]), default="imap")
    o["host"] = o["host"] or _ask("Server host name", "--host", value_proc=_check(
        lambda v: not v or any(c.isspace() or c in "/:@" for c in v),
        "a host name such as imap.example.org (no spaces, no scheme, no port)"))
    o["security"] = o["security"] or _ask("Security", "--security",
                                          type=click.Choice(["tls", "starttls", "none"]),
                                          default="tls")
    default = setup.default_port(o["protocol"], o["security"])
    if o["port"] is None:
        o["port"] = _ask("Port", "--port", optional=True, type=click.IntRange(1, 65535),
                         default=default)
    o["username"] = o["username"] or _ask("User name", "--username")
    if o["email"] is None:
        guess = o["username"] if "@" in o["username"] else ""
        o["email"] = _ask("Email address (blank: none)", "--email", optional=True,
                          default=guess, show_default=bool(guess)) or None
    if o["display_name"] is None:
        o["display_name"] = _ask("Your name (blank: none)", "--display-name", optional=True,
                                 default="", show_default=False) or None
    password = None
    if not sources and not oauth2:
        broken = setup.keyring_problem()
        if broken:
            note(f"the system keyring is not usable here ({broken}); use a password command "
                 f"(e.g. 'pass show mail/{o['name']}') or an environment variable instead")
        while True:
            how = _ask("Password from: keyring, command (e.g. pass), or env variable",
                       "--password-command, --password-env or --keyring",
                       type=click.Choice(["keyring", "command", "env"]),
                       default="command" if broken else "keyring")
            if how != "keyring" or not broken:
                break
            note("the keyring is not usable here (see above): choose command or env")
        if how == "command":
            o["password_command"] = _ask("Password command", "--password-command")
        elif how == "env":
            o["password_env"] = _ask("Environment variable", "--password-env")
        else:
            o["use_keyring"] = True
    if o["use_keyring"]:
        password = _ask(f"Password for {o['username']}", "the keyring password", hide_input=True,
                        confirmation_prompt=bool(o["no_test"]))
    fields: dict[str, Any] = {
        "protocol": o["protocol"], "host": o["host"],
        "port": o["port"] if o["port"] != default else None, "security": o["security"],
        "tls_ca_file": o["tls_ca_file"], "username": o["username"],
        "password_command": o["password_command"], "password_env": o["password_env"],
        "email": o["email"], "name": o["display_name"],
    }
    if oauth2:  # the keys of the oauth2 half (config loader): SPEC.md [accounts.gmail]
        fields.update(auth="oauth2", oauth2_provider=o.get("oauth2_provider") or "custom",
                      oauth2_client_id=o["oauth2_client_id"])
    if o.get("server_saves_sent") and o["protocol"] == "imap":
        fields["server_saves_sent"] = True   # from the provider table (discovery)
    if o["protocol"] == "pop3":
        _pop3_policy(o, fields)
    elif o["leave"] is not None or o["keep_days"] is not None:
        raise UsageError("--leave-on-server, --delete-after-download and --keep-days are for POP3")
    return fields, _smtp(o), password


def _name_problem(name: str, taken: set[str]) -> str | None:
    import re

    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        return "account names are letters, digits, '.', '_' and '-' (e.g. work)"
    if name in taken:
        return f"there is already an account {name!r}; choose another name"
    return None


def _retry_step(exc: MailcliError, o: dict[str, Any], fields: dict[str, Any], setup: Any,
                path: Any) -> bool:
    """Ask again for what made the login test fail (keeping every other answer); False
    when there is nothing a new answer could fix."""
    note(f"mailcli: the login test failed: {exc.message}")
    if isinstance(exc, TLSError) and "not trusted" in exc.message:
        cert = setup.server_certificate(fields["host"], fields["port"] or
                                        setup.default_port(fields["protocol"], fields["security"])) \
            if fields["security"] == "tls" else None
        if cert is not None:
            pem, fingerprint = cert
            note(f"the server's certificate has the SHA-256 fingerprint\n  {fingerprint}\n"
                 f"compare it with what your provider publishes (or run: openssl s_client "
                 f"-connect {fields['host']}:{fields['port'] or 993})")
            trust = _answered(lambda: click.confirm("Trust this certificate for this account?",
                                                    default=False, err=True), "--tls-ca-file")
            if trust:
                fields["tls_ca_file"] = str(setup.save_trusted_certificate(path, o["name"], pem))
                note(f"saved to {fields['tls_ca_file']} (tls_ca_file)")
                return True
        ca = _ask("CA file that signs the server's certificate (tls_ca_file; blank: give up)",
                  "--tls-ca-file", optional=True, default="", show_default=False,
                  type=click.Path(dir_okay=False, exists=True))
        if ca:
            fields["tls_ca_file"] = ca
        return bool(ca)
    if isinstance(exc, AuthError):
        fields["username"] = _ask("User name", "--username", default=fields["username"])
        if fields.get("password_command"):
            fields["password_command"] = _ask("Password command", "--password-command",
                                              default=fields["password_command"])
        elif fields.get("password_env"):
            fields["password_env"] = _ask("Environment variable", "--password-env",
                                          default=fields["password_env"])
        return True
    if isinstance(exc, TemporaryError) or isinstance(exc, TLSError):
        fields["host"] = _ask("Server host name", "--host", default=fields["host"])
        fields["security"] = _ask("Security", "--security", default=fields["security"],
                                  type=click.Choice(["tls", "starttls", "none"]))
        port = setup.default_port(fields["protocol"], fields["security"])
        answer = _ask("Port", "--port", type=click.IntRange(1, 65535),
                      default=fields["port"] or port)
        fields["port"] = answer if answer != port else None
        return True
    return False


def _pop3_policy(o: dict[str, Any], fields: dict[str, Any]) -> None:
    leave = o["leave"]
    if leave is None:
        click.echo("POP3 normally deletes mail from the server once it is safely stored here.",
                   err=True)
        leave = _answered(lambda: click.confirm("Leave a copy of every message on the server?",
                                                default=False, err=True),
                          "--leave-on-server or --delete-after-download")
    keep = o["keep_days"]
    if keep is not None and not leave:
        raise UsageError("--keep-days needs --leave-on-server")
    if leave and keep is None and o["leave"] is None:
        keep = _ask("Delete from the server after how many days? (0: never)", "--keep-days",
                    type=click.IntRange(min=0), default=0) or None
    fields["leave_on_server"] = leave
    fields["keep_days"] = keep


def _smtp(o: dict[str, Any]) -> dict[str, Any] | None:
    if not o["smtp_host"] and _asked[0]:
        # a wizard asks about sending too (flags alone: only with --smtp-host)
        host = o["host"] or ""
        guess = next(("smtp." + host.split(".", 1)[1] for p in ("imap.", "pop.", "pop3.", "mail.")
                      if host.startswith(p) and "." in host), "")
        o["smtp_host"] = _ask("SMTP server for sending (blank: none)", "--smtp-host",
                              optional=True, default=guess, show_default=bool(guess)) or None
        if o["smtp_host"] and not o["smtp_security"]:
            o["smtp_security"] = _ask("SMTP security", "--smtp-security", optional=True,
                                      type=click.Choice(["tls", "starttls", "none"]),
                                      default="starttls")
    if not o["smtp_host"]:
        return None
    security = o["smtp_security"] or "starttls"
    return {"host": o["smtp_host"], "port": o["smtp_port"], "security": security,
            "username": o.get("smtp_username")}


def _nothing_written(exc: MailcliError) -> MailcliError:
    hint = "nothing was written; fix the problem, or use --no-test to save the account anyway"
    try:
        return type(exc)(exc.message, hint=hint)
    except TypeError:
        return exc
