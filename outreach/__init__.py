"""Outreach: deciding whether, when and how to reach a family, and doing it."""
