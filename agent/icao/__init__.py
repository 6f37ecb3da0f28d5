"""The pure protocol core: ISO 7816-4 APDUs and BER-TLV, ICAO Doc 9303 access control (BAC, PACE),
secure messaging, chip and active authentication, LDS parsing, passive authentication and the read
sequence.

Pure means: no devices, no network, no files, no sleeping. Randomness and the clock are parameters
(``rng``, ``at``) so that every handshake can be replayed from a published worked example. Besides
the standard library, it may import its crypto/ASN.1 libraries (cryptography, asn1crypto) and the
leaf modules :mod:`agent.errors` and :mod:`agent.models`.
"""
