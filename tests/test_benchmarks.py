"""Every benchmark script imports against the current code (they run outside the suite, with
``make bench``, so a renamed module would otherwise break them unnoticed) and has a ``main``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_the_benchmark_script_imports(script: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    try:
        spec.loader.exec_module(module)  # the scripts only run under ``if __name__ == "__main__"``
    finally:
        del sys.modules[spec.name]
    assert callable(getattr(module, "main", None))
