"""The `firstcall` command (placeholder until subcommands land)."""

def main() -> int:
    """Entry point."""
    return 0
