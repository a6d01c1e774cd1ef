"""The platform of the running system: settings, logging, metrics, probes.

`settings` is the only place that defines defaults and reads environment variables.
"""
