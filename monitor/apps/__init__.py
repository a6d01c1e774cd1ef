"""One module per `firstcall` command (imported explicitly by monitor.cli)."""
