"""Simulator: camera."""
