"""Parsers of the Logical Data Structure (ICAO Doc 9303-10): EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15."""
