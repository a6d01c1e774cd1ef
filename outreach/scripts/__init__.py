"""Wording: what the family reads and hears (chat, call, SMS), by fault, device and language."""
