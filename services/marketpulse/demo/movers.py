"""Top movers: tickers whose recent sentiment departs most from their own running average."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from marketpulse.core.messages import ScoredDocument


@dataclass(frozen=True)
class Mover:
    ticker: str
    recent_mean: float
    baseline_mean: float
    recent_docs: int

    @property
    def shift(self) -> float:
        return self.recent_mean - self.baseline_mean


class MoversTracker:
    """Per ticker: scores in the last `window` of stream time vs. the mean of everything before."""

    def __init__(self, window: timedelta = timedelta(hours=24), min_docs: int = 5) -> None:
        self.window = window
        self.min_docs = min_docs
        self._recent: dict[str, deque[tuple[datetime, float]]] = defaultdict(deque)
        self._baseline_sum: dict[str, float] = defaultdict(float)
        self._baseline_n: dict[str, int] = defaultdict(int)
        self.stream_time: datetime | None = None

    def add(self, scored: list[ScoredDocument]) -> None:
        for doc in scored:
            for ticker in doc.entities[:3]:  # a tweet tagging 10 tickers is not about all of them
                self._recent[ticker].append((doc.published_at, doc.sentiment_score))
            if self.stream_time is None or doc.published_at > self.stream_time:
                self.stream_time = doc.published_at
        self._age_out()

    def _age_out(self) -> None:
        if self.stream_time is None:
            return
        horizon = self.stream_time - self.window
        for ticker, recent in self._recent.items():
            while recent and recent[0][0] < horizon:
                _, score = recent.popleft()
                self._baseline_sum[ticker] += score
                self._baseline_n[ticker] += 1

    def top(self, n: int = 5) -> list[Mover]:
        movers = []
        for ticker, recent in self._recent.items():
            if len(recent) < self.min_docs or self._baseline_n[ticker] < self.min_docs:
                continue
            recent_mean = sum(s for _, s in recent) / len(recent)
            baseline = self._baseline_sum[ticker] / self._baseline_n[ticker]
            movers.append(Mover(ticker, recent_mean, baseline, len(recent)))
        return sorted(movers, key=lambda m: abs(m.shift), reverse=True)[:n]
