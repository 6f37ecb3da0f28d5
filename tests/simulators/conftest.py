"""Fixtures of the simulator tests: the shared real-PC/SC fixtures (pcscd + vpcd, see tests/pcsc_env.py)
made available here until the root conftest registers them for the whole suite."""

from __future__ import annotations

from tests.pcsc_env import pcsc_env, vpcd_slot

__all__ = ["pcsc_env", "vpcd_slot"]
