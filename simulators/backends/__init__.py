"""Simulator: backends."""
