"""Event triggers: a selected event type the model detected, above a probability floor, for watched tickers.

Detected means the type is in the document's `events`, i.e. its probability reached the threshold
tuned on dev for that type. The floor only raises the bar: event probabilities are not calibrated
across types or model versions (an asymmetric loss shifts them up), so a floor alone would fire on
decisions the model itself did not make.

A rule is an event type, optionally with a required polarity ("Rating:negative" = a rating
event in a document whose sentiment is negative). Repeats merge in the lifecycle (cooldown).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from marketpulse.alerts.signals import Crossing, DocRef
from marketpulse.core.messages import EVENT_TYPES, ScoredDocument


@dataclass(frozen=True, slots=True)
class EventRule:
    event_type: str
    polarity: str | None = None  # None = any sentiment

    @property
    def name(self) -> str:
        return f"event:{self.event_type}"


class EventTrigger:
    def __init__(self, rules: Iterable[tuple[str, str | None]], threshold: float, critical: float = 0.95,
                 watchlist: frozenset[str] = frozenset()) -> None:
        self.rules = [EventRule(t, p) for t, p in rules]
        unknown = [r.event_type for r in self.rules if r.event_type not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
        self.threshold = threshold
        self.critical = critical
        self.watchlist = watchlist

    def check(self, doc: ScoredDocument, tickers: Iterable[str], ref: DocRef) -> list[tuple[str, Crossing]]:
        """(ticker, crossing) for every rule the document fires, for every watched ticker it names."""
        watched = [t for t in tickers if not self.watchlist or t in self.watchlist]
        if not watched:
            return []
        out = []
        for rule in self.rules:
            prob = doc.event_scores.get(rule.event_type, 0.0)
            detected = rule.event_type in doc.events and prob >= self.threshold
            if not detected or (rule.polarity and doc.sentiment != rule.polarity):
                continue
            direction = doc.sentiment if doc.sentiment != "neutral" else "none"
            severity = "critical" if direction == "negative" and prob >= self.critical else "warning"
            values = {"probability": round(prob, 4), "threshold": self.threshold,
                      "sentiment_score": round(doc.sentiment_score, 4)}
            crossing = Crossing(rule.name, direction, ref.t, severity, True, values, (ref,))
            out.extend((t, crossing) for t in watched)
        return out
