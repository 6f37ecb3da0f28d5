"""Subcommands of the command line, one module each (see :mod:`agent.cli`)."""
