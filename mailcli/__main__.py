"""`python -m mailcli`."""
from mailcli.cli.main import main

main()
