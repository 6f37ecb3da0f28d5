"""Suite-wide test settings: a bounded Hypothesis profile so the suite stays fast on 2 cores, and per-user
data, configuration and log directories of the suite's own, so that no test (nor a command it starts)
ever writes a store, a key, a receipt key or a log into the home directory of whoever runs it, nor reads
the machine's settings."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_HOME = tempfile.mkdtemp(prefix="cccd-agent-tests-")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")  # platformdirs' user data and config directories
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_STATE_HOME"] = os.path.join(_HOME, "state")  # platformdirs' user log directory
# The machine's settings file (/etc/xdg/cccd-agent/config.toml) and CCCD_AGENT_CONFIG of whoever runs
# the suite must not change what the tests load.
os.environ["XDG_CONFIG_DIRS"] = os.path.join(_HOME, "site-config")
os.environ.pop("CCCD_AGENT_CONFIG", None)

# Real PC/SC fixtures (pcscd + the vpcd virtual reader): pcsc_env, vpcd_slot.
pytest_plugins = ["tests.pcsc_env"]
