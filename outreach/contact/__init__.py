"""The case runtime: one lifecycle from incident to outcome.

Used by the outreach service, the desk and the demo alike.
"""
