"""The exception tree of marketpulse.

    MarketpulseError
    ├── ConfigError            a setting is missing or inconsistent
    ├── InvalidDocument        a record failed validation; carries a bounded `reason` code
    ├── StoreError             the store refused or could not be reached
    │   └── StoreUnavailable   transient: retry with backoff
    ├── ModelError             model files missing or inconsistent
    └── ServiceError           a dev service (Kafka, ClickHouse) failed to start or stop

Third-party errors are translated at the boundary (`raise ... from exc`).
"""

from __future__ import annotations


class MarketpulseError(Exception):
    """Base of every error marketpulse raises on purpose."""


class ConfigError(MarketpulseError):
    pass


class InvalidDocument(MarketpulseError):
    """A record that cannot become a document. `reason` is one of `DeadLetterReason`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StoreError(MarketpulseError):
    pass


class StoreUnavailable(StoreError):
    """The store cannot be reached right now; the caller should back off and retry."""


class ModelError(MarketpulseError):
    pass


class ServiceError(MarketpulseError):
    pass
