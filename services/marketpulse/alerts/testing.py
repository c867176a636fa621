"""Testing aids for alerts (like bytewax's testing.py): synthetic scored streams and fakes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from marketpulse.core.messages import EVENT_TYPES, ScoredDocument

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def doc(doc_id: str, seconds: float, score: float, tickers=("AAPL",), events: dict | None = None,
        sentiment: str | None = None) -> ScoredDocument:
    """A document `seconds` after T0 with sentiment score `score` (confidence 0.9 when polar)."""
    if score <= -0.3:
        probs = {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
    elif score >= 0.3:
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.9}
    else:
        probs = {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
    label = sentiment or max(probs, key=probs.__getitem__)
    at = T0 + timedelta(seconds=seconds)
    scores = {t: 0.0 for t in EVENT_TYPES} | (events or {})
    return ScoredDocument(
        doc_id=doc_id, source="test", source_kind="news", url=f"https://news.example/{doc_id}", title=f"title {doc_id}",
        published_at=at, ingested_at=at, scored_at=at, entities=list(tickers), model_name="m", model_version="1",
        sentiment=label, sentiment_scores=probs, sentiment_score=score,
        events=[t for t, p in scores.items() if p >= 0.5], event_scores=scores,
    )


def background(days: float = 3, tickers=("AAPL", "MSFT", "XOM", "JPM"), every_s: float = 600, seed: int = 7,
               start_s: float = 0) -> list[ScoredDocument]:
    """Quiet real-looking chatter: scores around +0.1, one document per ticker every ~10 minutes."""
    rng = random.Random(seed)
    docs, t = [], start_s
    while t < start_s + days * 86400:
        for ticker in tickers:
            s = max(-1.0, min(1.0, rng.gauss(0.1, 0.35)))
            docs.append(doc(f"bg-{ticker}-{int(t)}", t + rng.uniform(0, every_s), s, (ticker,)))
        t += every_s
    return sorted(docs, key=lambda d: d.published_at)


def burst(ticker: str, start_s: float, n: int = 10, every_s: float = 10, score: float = -0.85,
          prefix: str = "burst") -> list[ScoredDocument]:
    return [doc(f"{prefix}-{ticker}-{i}", start_s + i * every_s, score, (ticker,)) for i in range(n)]


def batches(docs: list[ScoredDocument], size: int = 50) -> list[list[ScoredDocument]]:
    docs = sorted(docs, key=lambda d: (d.published_at, d.doc_id))
    return [docs[i:i + size] for i in range(0, len(docs), size)]


class MemoryNotifier:
    """In-memory Notifier: records what it was sent; `fail_next` makes the next N sends fail."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.sent: list = []
        self.fail_next = 0
        self.attempts = 0

    def send(self, alert) -> None:
        from marketpulse.alerts.errors import DeliveryFailed

        self.attempts += 1
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryFailed(self.name, "told to fail")
        self.sent.append(alert)
