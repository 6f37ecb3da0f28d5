"""Suite-wide test settings: a bounded Hypothesis profile so the suite stays fast on 2 cores."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Real PC/SC fixtures (pcscd + the vpcd virtual reader): pcsc_env, vpcd_slot.
pytest_plugins = ["tests.pcsc_env"]
