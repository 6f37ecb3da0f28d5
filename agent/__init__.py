"""The CCCD edge reader agent: reads and verifies Vietnamese chip ID cards and QR codes at a
reception desk and reports what the citizen is entitled to."""

__version__ = "0.1.0"
