"""The Classifier seam: texts in, one Prediction per text out, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Prediction:
    sentiment: str  # negative | neutral | positive
    sentiment_scores: dict[str, float]
    sentiment_score: float  # P(positive) - P(negative)
    events: list[str] = field(default_factory=list)  # types over their tuned thresholds
    event_scores: dict[str, float] = field(default_factory=dict)  # all 18 types

    def as_dict(self) -> dict:
        return {
            "sentiment": self.sentiment,
            "sentiment_scores": self.sentiment_scores,
            "sentiment_score": self.sentiment_score,
            "events": self.events,
            "event_scores": self.event_scores,
        }


@runtime_checkable
class Classifier(Protocol):
    name: str
    version: str

    def warmup(self) -> None: ...

    def classify(self, texts: Sequence[str]) -> list[Prediction]: ...
