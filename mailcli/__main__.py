"""`python -m mailcli`."""
from mailcli.cli.main import run

if __name__ == "__main__":   # importing this module (pydoc, a coverage tool) runs nothing
    run()
