"""The discovery step of `mailcli account add --email ADDR`: ask the service for the
servers, show what was found and where from (stderr), get the user's yes (or --yes), and
fill the wizard's answers with it. Flags the user gave always win over what was found.
No terminal and no --yes: exit 2 before any lookup, nothing written."""
from __future__ import annotations

import sys
from typing import Any

import click

from mailcli.cli.output import note, one_line
from mailcli.errors import UsageError


def discover_step(o: dict[str, Any], setup: Any) -> None:
    """Fill `o` (the command's options) from discovery; unchanged when the user says no."""
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if not o["yes"] and not interactive:
        raise UsageError("account add: finding the servers needs a terminal to confirm them, "
                         "or --yes", hint="add --yes to accept what is found, or give --host "
                         "(or --no-discover) and the other answers as flags")
    if sys.stderr.isatty():
        note(f"looking up the mail servers for {o['email']} ...")
    try:
        found = setup.discover(o["email"])
    except UsageError as exc:
        if o["yes"] or not interactive:
            raise
        note(f"{exc.message}; asking instead")
        return
    incoming = found.incoming(o["protocol"])
    if incoming is None:
        raise UsageError(f"{found.source} names no {o['protocol']} server for {o['email']}",
                         hint="choose another --protocol, or give --host")
    outgoing = found.smtp()
    _show(found, incoming, outgoing)
    if not o["yes"] and not click.confirm("Use these settings?", default=True, err=True):
        return
    o["protocol"], o["host"] = incoming.protocol, incoming.host
    o["port"], o["security"] = incoming.port, incoming.security
    o["username"] = o["username"] or incoming.username
    o["name_default"] = o["email"].rpartition("@")[2].split(".")[0]
    if o["yes"] and not o["name"]:
        o["name"] = o["name_default"]
    if outgoing and not o["smtp_host"]:
        o["smtp_host"], o["smtp_port"] = outgoing.host, outgoing.port
        o["smtp_security"] = outgoing.security
        if outgoing.username and outgoing.username != o["username"]:
            o["smtp_username"] = outgoing.username
        if found.server_saves_sent:
            o["server_saves_sent"] = True
    if found.oauth2 and o["auth"] is None:
        required = " (the provider takes no passwords)" if found.oauth2_required else ""
        use = o["yes"] or click.confirm(f"Sign in with OAuth2{required}?", default=True, err=True)
        o["auth"] = "oauth2" if use else "password"
    if o["auth"] == "oauth2":
        o["oauth2_provider"] = found.oauth2 or "custom"


def _show(found: Any, incoming: Any, outgoing: Any) -> None:
    note(f"found by {found.source}:")
    detail(f"incoming  {incoming}  user {incoming.username}")
    if outgoing:
        detail(f"outgoing  {outgoing}  user {outgoing.username}")
    if found.oauth2:
        need = "required" if found.oauth2_required else "proposed"
        detail(f"sign-in   OAuth2 ({need}; oauth2_provider = {found.oauth2})")
    if found.note:
        detail(f"note      {found.note}")
    if found.server_saves_sent and outgoing:
        detail("sent mail the SMTP server files into Sent itself (server_saves_sent = true: "
               "no second copy)")
    for server in found.plaintext:
        detail(f"not proposed (plaintext, choose it only with --host/--security none): {server}")
    for line in found.tried:
        detail(f"checked first: {line}")


def detail(text: str) -> None:
    click.echo("  " + one_line(text), err=True)
