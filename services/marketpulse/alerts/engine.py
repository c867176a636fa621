"""AlertEngine: scored documents in, alert state changes out. Plain Python, no I/O.

The pipeline calls `observe(batch.scored)` once per batch. Documents are processed in event time
(published_at, then doc id) and each document id only once: a batch re-delivered after a crash
changes nothing and yields nothing (at-least-once delivery is the norm). Alert ids are hashes
of (rule, entity, opening event time), so a replay produces the same ids.

State is `snapshot()` (JSON-able) and `AlertEngine.restore(snapshot)`; `recovery.py` catches up
or rebuilds from the store.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from datetime import datetime

from marketpulse.alerts import metrics
from marketpulse.alerts.events import EventTrigger
from marketpulse.alerts.lifecycle import Lifecycle
from marketpulse.alerts.settings import AlertSettings, SectorSignalSettings, TickerSignalSettings
from marketpulse.alerts.signals import Detector, DocRef, ShiftDetector
from marketpulse.core.messages import Alert, ScoredDocument

SNAPSHOT_VERSION = 1
SectorOf = Callable[[str], str | None]


def _event_time(doc: ScoredDocument) -> float:
    """Whole seconds, as the store keeps them (DateTime), so a replay from the store is exact."""
    return float(math.floor(doc.published_at.timestamp()))


def _f32(x: float) -> float:
    """Float32 precision, as the store keeps scores: live and rebuilt state stay bit-identical."""
    return struct.unpack("f", struct.pack("f", x))[0]


def confidence(doc: ScoredDocument) -> float:
    """The classifier's confidence in its label: the weight of the document in every signal."""
    return max(doc.sentiment_scores.values(), default=1.0)


class AlertEngine:
    def __init__(
        self,
        settings: AlertSettings | None = None,
        ticker: TickerSignalSettings | None = None,
        sector: SectorSignalSettings | None = None,
        sector_of: SectorOf | None = None,
        detectors: dict[str, Detector] | None = None,
    ) -> None:
        self.settings = s = settings or AlertSettings()
        self.params = {"ticker": ticker or TickerSignalSettings(), "sector": sector or SectorSignalSettings()}
        self.detectors: dict[str, Detector] = detectors or {
            kind: ShiftDetector(p, s.top_documents) for kind, p in self.params.items()}
        self.events = EventTrigger(s.parsed_event_rules(), s.event_threshold, s.event_critical, s.watchlist())
        self.lifecycle = Lifecycle(s.top_documents)
        self.sector_of = sector_of
        self.watermark: float | None = None
        self.docs_observed = 0
        self._seen: dict[str, None] = {}  # insertion-ordered, bounded: the recent document ids

    def observe(self, scored: Sequence[ScoredDocument], sectors: SectorOf | None = None) -> list[Alert]:
        """Alerts whose state changed in this batch (opened, severity raised, resolved), in order."""
        sector_of = sectors or self.sector_of
        out: list[Alert] = []
        for doc in sorted(scored, key=lambda d: (d.published_at, d.doc_id)):
            if doc.doc_id in self._seen:
                metrics.DUPLICATES_IGNORED.inc()
                continue
            self._remember(doc.doc_id)
            out.extend(self._one(doc, sector_of))
        metrics.count(out)
        return out

    def advance(self, now: datetime) -> list[Alert]:
        """Move event time forward without a document (an idle stream), resolving what cooled down."""
        t = float(math.floor(now.timestamp()))
        self.watermark = t if self.watermark is None else max(self.watermark, t)
        out = self.lifecycle.expire(self.watermark)
        metrics.count(out)
        return out

    def _remember(self, doc_id: str) -> None:
        self._seen[doc_id] = None
        if len(self._seen) > self.settings.seen_capacity:
            del self._seen[next(iter(self._seen))]

    def _one(self, doc: ScoredDocument, sector_of: SectorOf | None) -> list[Alert]:
        t = _event_time(doc)
        self.watermark = t if self.watermark is None else max(self.watermark, t)
        self.docs_observed += 1
        metrics.DOCUMENTS_OBSERVED.inc()
        out = self.lifecycle.expire(self.watermark)
        tickers = list(dict.fromkeys(doc.entities))
        if not tickers or len(tickers) > self.settings.max_entities_per_doc:
            return out
        ref = DocRef(doc.doc_id, t, _f32(doc.sentiment_score), _f32(confidence(doc)), doc.title, doc.url)
        groups = [("ticker", tickers)]
        if sector_of is not None:
            groups.append(("sector", list(dict.fromkeys(s for s in map(sector_of, tickers) if s))))
        for kind, entities in groups:
            detector, cooldown = self.detectors[kind], self.params[kind].cooldown_s
            for entity in entities:
                crossing = detector.update(entity, t, ref.score, ref.weight, ref)
                if crossing is not None:
                    out.extend(self.lifecycle.on_crossing(kind, entity, crossing, cooldown))
        for ticker, crossing in self.events.check(doc, tickers, ref):
            out.extend(self.lifecycle.on_crossing("ticker", ticker, crossing, self.settings.event_cooldown_s))
        return out

    @property
    def open_alerts(self) -> list[Alert]:
        return [tr.alert for tr in self.lifecycle.active.values()]

    def seen(self, doc_id: str) -> bool:
        return doc_id in self._seen

    def snapshot(self) -> dict:
        return {
            "version": SNAPSHOT_VERSION, "watermark": self.watermark, "docs_observed": self.docs_observed,
            "seen": list(self._seen), "lifecycle": self.lifecycle.snapshot(),
            "detectors": {kind: d.snapshot() for kind, d in self.detectors.items()},
        }

    @classmethod
    def restore(cls, snapshot: dict, **kwargs) -> AlertEngine:
        """A new engine (constructed with `kwargs`, as `__init__`) carrying the snapshot's state."""
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"alert snapshot version {snapshot.get('version')!r}, expected {SNAPSHOT_VERSION}")
        engine = cls(**kwargs)
        engine.watermark = snapshot["watermark"]
        engine.docs_observed = snapshot["docs_observed"]
        engine._seen = dict.fromkeys(snapshot["seen"])
        engine.lifecycle.restore(snapshot["lifecycle"])
        for kind, data in snapshot["detectors"].items():
            engine.detectors[kind].restore(data)
        return engine
