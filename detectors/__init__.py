"""Pure, event-time detectors of class trouble: lag, disconnect, flapping, line incidents."""
