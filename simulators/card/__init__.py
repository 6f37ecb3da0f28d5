"""Simulator: card."""
