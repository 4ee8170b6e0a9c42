"""Helpers the course notebooks import: seeded data, plots, timing and small servers.

Each module serves one topic and imports only what it needs, so that importing ``labkit``
itself stays cheap.
"""
