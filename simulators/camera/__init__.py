"""The simulated camera: a seeded corpus of webcam-like frames showing a CCCD card's QR code (or none),
random Vietnamese people and text, a QR encoder (OpenCV's), and frames to and from image and video
files for tests, demos and benchmarks/qr.py."""
