"""The fuzz targets shared by the suite (tests/fuzz/test_targets.py, bounded) and the long campaign
(benchmarks/fuzz.py)."""
