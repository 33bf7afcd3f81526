"""Rectification notices: what a provider must put right, by when, and whether it did."""
