"""The `tolcli` command line: thin click shells over `tolerance` and `sesn`."""
