"""AlertRuntime: what a runner wires in. Engine + sinks + state persistence, in three calls.

    runtime = AlertRuntime.start(store, ...)      # snapshot + catch-up, or rebuild from the store
    runtime.process(batch.scored)                 # after Pipeline.commit, before acking offsets
    runtime.close()                               # at shutdown (final snapshot, stop deliveries)

`process` is safe to call again after it raised StoreUnavailable: the alerts of a batch are kept
until the sinks took them, and the engine ignores the documents it already counted. It blocks on
store writes: from asyncio, run it in the same executor as `Pipeline.commit` (e.g. inside
`until_stored`). One runtime per process, called from one thread at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from marketpulse.alerts.engine import AlertEngine, SectorOf
from marketpulse.alerts.recovery import History, StoreHistory, catch_up, load_snapshot, rebuild, save_snapshot
from marketpulse.alerts.settings import AlertSettings, SectorSignalSettings, TickerSignalSettings, WebhookSettings
from marketpulse.alerts.sinks import AlertSink, Publish, build_sink
from marketpulse.core.messages import Alert, ScoredDocument
from marketpulse.store.base import Store

log = logging.getLogger(__name__)


class AlertRuntime:
    def __init__(self, engine: AlertEngine, sink: AlertSink, settings: AlertSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.sink, self.settings, self.clock = engine, sink, settings, clock
        self._unsent: list[Alert] = []
        self._last_snapshot = clock()

    @classmethod
    def start(
        cls,
        store: Store,
        settings: AlertSettings | None = None,
        ticker: TickerSignalSettings | None = None,
        sector: SectorSignalSettings | None = None,
        webhook: WebhookSettings | None = None,
        publish: Publish | None = None,
        sector_of: SectorOf | None = None,
        history: History | None = None,
        sink: AlertSink | None = None,
    ) -> AlertRuntime:
        """Restore the snapshot and catch up from the store, or rebuild from the store; send
        whatever the store shows was lost in the last crash."""
        settings = settings or AlertSettings()
        history = history or StoreHistory(store)
        kwargs = {"settings": settings, "ticker": ticker, "sector": sector, "sector_of": sector_of}
        loaded = load_snapshot(settings.snapshot_path, **kwargs)
        if loaded is not None:
            engine, saved_at, unsent = loaded
            pending = unsent + catch_up(engine, history, saved_at, sector_of=sector_of)
            log.info("alerts: snapshot of %s restored, %d messages to resend", saved_at.isoformat(), len(pending))
        else:
            engine, pending = rebuild(history, settings.rebuild_lookback_s, **kwargs)
            log.info("alerts: rebuilt from the store (%d documents), %d messages to resend",
                     engine.docs_observed, len(pending))
        runtime = cls(engine, sink or build_sink(webhook or WebhookSettings(), store, publish), settings)
        runtime._unsent = list(pending)
        try:
            runtime._flush()
        finally:
            runtime.snapshot()  # with whatever is still unsent: the next start sends it
        return runtime

    def process(self, scored: Sequence[ScoredDocument], sectors: SectorOf | None = None) -> list[Alert]:
        """Observe one batch and hand its alert messages to every sink; returns them."""
        alerts = self.engine.observe(scored, sectors)
        self._unsent.extend(alerts)
        sent = self._flush()
        every = self.settings.snapshot_every_s
        if every == 0 or self.clock() - self._last_snapshot >= every:
            self.snapshot()
        return sent

    def tick(self, now: datetime) -> list[Alert]:
        """Live streams only: let event time reach `now` (e.g. wall clock minus the expected lag)
        when no document came, so quiet alerts still resolve. Never call it while replaying history."""
        self._unsent.extend(self.engine.advance(now))
        return self._flush()

    def _flush(self) -> list[Alert]:
        if not self._unsent:
            return []
        batch = list(self._unsent)
        self.sink.emit(batch)  # raises StoreUnavailable: kept for the next call
        self._unsent.clear()
        return batch

    def snapshot(self) -> None:
        save_snapshot(self.engine, self.settings.snapshot_path, unsent=self._unsent)
        self._last_snapshot = self.clock()

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self.snapshot()
            self.sink.close()
