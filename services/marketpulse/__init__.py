"""marketpulse: streaming market-sentiment and event monitoring."""

__version__ = "0.1.0"
