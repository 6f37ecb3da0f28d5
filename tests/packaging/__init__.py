"""Tests of what ships: the wheel in a fresh virtual environment, the frozen application, the service files."""
