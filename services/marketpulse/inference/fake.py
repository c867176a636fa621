"""A keyword classifier with the Classifier interface, for unit tests and wiring checks."""

from __future__ import annotations

from collections.abc import Sequence

from marketpulse.core.messages import EVENT_TYPES
from marketpulse.inference.base import Prediction

_NEGATIVE = ("falls", "drops", "plunge", "miss", "lawsuit", "cut", "down", "loss", "weak", "sinks")
_POSITIVE = ("rises", "jumps", "soar", "beat", "record", "upgrade", "up", "gain", "strong", "surges")
_EVENTS = {"lawsuit": "Legal", "sues": "Legal", "dividend": "Dividend", "acquire": "Merger/Acquisition",
           "upgrade": "Rating", "downgrade": "Rating", "earnings": "FinancialReport"}


class FakeClassifier:
    """Deterministic: counts a few words. `fail_on` makes texts containing it raise, to test error paths."""

    def __init__(self, name: str = "fake", version: str = "0", fail_on: str | None = None) -> None:
        self.name = name
        self.version = version
        self.fail_on = fail_on
        self.calls: list[int] = []

    def warmup(self) -> None:
        self.classify(["warmup"])

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(len(texts))
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> Prediction:
        if self.fail_on and self.fail_on in text:
            raise ValueError(f"fake classifier told to fail on {self.fail_on!r}")
        words = text.lower().split()
        neg = sum(w in _NEGATIVE for w in words)
        pos = sum(w in _POSITIVE for w in words)
        total = neg + pos + 1
        scores = {"negative": neg / total, "neutral": 1 / total, "positive": pos / total}
        label = max(scores, key=scores.__getitem__)
        event_scores = {t: 0.0 for t in EVENT_TYPES}
        for word, etype in _EVENTS.items():
            if word in text.lower():
                event_scores[etype] = 0.9
        events = [t for t, p in event_scores.items() if p >= 0.5]
        return Prediction(label, scores, scores["positive"] - scores["negative"], events, event_scores)
