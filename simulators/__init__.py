"""Software stand-ins for the outside world, used by tests, the demo and the benchmarks: a CCCD card
(card side written independently of the host side), mock backends, camera frames, the vpcd bridge."""
