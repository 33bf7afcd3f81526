"""Helpers shared by every domain: tabular imports, formatting, pagination."""
