"""FirstCall: proactive technical support for live online classes."""

__version__ = "0.1.0"
