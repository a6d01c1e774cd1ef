"""Masking personal data before it reaches a log line."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """`+8613812345678` -> `+86*******5678`: country code and last 4 digits only."""
    if not phone:
        return ""
    digits = phone.lstrip("+")
    if len(digits) <= 6:
        return "*" * len(phone)
    head = digits[:2]
    tail = digits[-4:]
    return f"+{head}{'*' * (len(digits) - 6)}{tail}"
