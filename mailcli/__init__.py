"""mailcli: a terminal mail client for IMAP and POP3. Imports nothing at start-up."""
__version__ = "0.2.0"
