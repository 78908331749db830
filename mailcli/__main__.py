"""`python -m mailcli`."""
from mailcli.cli.main import run

run()
