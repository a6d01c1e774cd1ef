"""The support desk: HTTP API, agent console, ops dashboard and reports.

It reads and commands cases through the case runtime; it owns no lifecycle.
"""
