"""Tests of agent.nfc: PC/SC transport, card monitor, NDEF tags, the readers command."""
