"""Outreach stages: each a pure function of the context returning a decision or None (pass on)."""
