"""mailcli's benchmark harness: mailcli against mbsync, offlineimap, getmail6 and fetchmail
on the same private Dovecot and the same deterministic mailbox, plus plain imaplib/poplib
lower bounds. Entry point: `python -m benchmarks` (see benchmarks/README.md).
"""
