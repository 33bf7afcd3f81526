"""Integrity checks on service records: the flags of spec/interchange.md.

``rules`` holds the pure detectors (plain data in, plain data out); ``catalogue``,
``geo``, ``photohash`` and ``textsim`` are their building blocks.
"""
