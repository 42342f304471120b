"""Limits of store queries that the HTTP layer states in its schema without loading the store."""

MAX_PAGE_SIZE = 1000
"""The most audit entries one page answers."""
