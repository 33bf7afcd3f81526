"""Contracts, their obligations and performance targets, amendments and progress."""
