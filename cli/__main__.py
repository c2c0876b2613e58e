"""`python -m cli` runs `tolcli`."""

from cli.main import main

main()
