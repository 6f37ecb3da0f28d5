"""``python -m agent``: the command line of the CCCD edge reader agent."""

from agent.cli import main

raise SystemExit(main())
