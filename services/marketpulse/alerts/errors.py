"""Alert errors.

    MarketpulseError
    └── AlertError
        └── DeliveryFailed     a notifier gave up on this attempt round; the alert stays in the outbox
"""

from __future__ import annotations

from marketpulse.core.errors import MarketpulseError


class AlertError(MarketpulseError):
    pass


class DeliveryFailed(AlertError):
    def __init__(self, target: str, detail: str, retryable: bool = True) -> None:
        super().__init__(f"{target}: {detail}")
        self.target = target
        self.detail = detail
        self.retryable = retryable
