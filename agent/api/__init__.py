"""The local HTTP API and the desk page, served on loopback only."""
