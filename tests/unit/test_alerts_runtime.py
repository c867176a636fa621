"""AlertRuntime, as the runners use it: store outage mid-batch, crash and restart, cold start."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketpulse.alerts.engine import AlertEngine
from marketpulse.alerts.recovery import MemoryHistory
from marketpulse.alerts.runtime import AlertRuntime
from marketpulse.alerts.settings import AlertSettings
from marketpulse.alerts.sinks import AlertSink
from marketpulse.alerts.testing import background, batches, burst
from marketpulse.core.errors import StoreUnavailable
from marketpulse.core.timeutil import utcnow
from marketpulse.store.memory import MemoryStore

DAY = 86400


class Recording(AlertSink):
    def __init__(self, store):
        super().__init__(store)
        self.messages = []

    def emit(self, alerts):
        super().emit(alerts)
        self.messages += alerts


def stream():
    """Batches as the pipeline hands them over: scored_at is the wall clock of scoring."""
    docs = background(days=4) + burst("AAPL", 2 * DAY, n=12) + burst("JPM", 3 * DAY, n=12, score=0.9)
    now = utcnow()
    return [[d.model_copy(update={"scored_at": now}) for d in b] for b in batches(docs, 25)]


def expected():
    engine = AlertEngine()
    return [(a.alert_id, a.state, a.severity) for b in stream() for a in engine.observe(b)]


def start(store, sink, tmp_path, every_s=0.0):
    settings = AlertSettings(snapshot_path=tmp_path / "state.json", snapshot_every_s=every_s)
    return AlertRuntime.start(store, settings, history=MemoryHistory(store), sink=sink)


def test_store_outage_during_emit_loses_nothing(tmp_path):
    store = MemoryStore()
    sink = Recording(store)
    runtime = start(store, sink, tmp_path)
    failed = 0
    for batch in stream():
        store.write_scores(batch)
        if any(d.doc_id == "burst-AAPL-5" for d in batch):
            store.fail_next = 1  # ClickHouse goes away just as the alert is written
            with pytest.raises(StoreUnavailable):
                runtime.process(batch)
            failed += 1
        runtime.process(batch)  # the runner's retry of the same batch
    assert failed == 1
    assert [(a.alert_id, a.state, a.severity) for a in sink.messages] == expected()


@pytest.mark.parametrize("every_s", [0.0, 3600.0])
def test_crash_and_restart_resumes_exactly(tmp_path, every_s):
    store = MemoryStore()
    sink = Recording(store)
    all_batches = stream()
    crash = next(i for i, b in enumerate(all_batches) if any(d.doc_id == "burst-JPM-4" for d in b))
    runtime = start(store, sink, tmp_path, every_s)
    for batch in all_batches[:crash + 1]:
        store.write_scores(batch)
        runtime.process(batch)
    # crash: no close(), the last batch not acked; a new process starts and the batch comes again
    runtime = start(store, sink, tmp_path, every_s)
    for batch in all_batches[crash:]:
        store.write_scores(batch)
        runtime.process(batch)
    runtime.close()
    assert [(a.alert_id, a.state, a.severity) for a in sink.messages] == expected()


def test_cold_start_without_snapshot_rebuilds_from_the_store(tmp_path):
    store = MemoryStore()
    sink = Recording(store)
    all_batches = stream()
    runtime = start(store, sink, tmp_path / "first")
    for batch in all_batches[:200]:
        store.write_scores(batch)
        runtime.process(batch)
    runtime = start(store, sink, tmp_path / "elsewhere")  # another machine: no snapshot there
    assert runtime.engine.docs_observed == sum(len(b) for b in all_batches[:200])
    for batch in all_batches[200:]:
        store.write_scores(batch)
        runtime.process(batch)
    assert [(a.alert_id, a.state, a.severity) for a in sink.messages] == expected()


def test_tick_resolves_a_quiet_alert_on_a_live_stream(tmp_path):
    store = MemoryStore()
    sink = Recording(store)
    runtime = start(store, sink, tmp_path)
    docs = [d for b in stream() for d in b]
    cut = next(i for i, d in enumerate(docs) if d.doc_id == "burst-AAPL-11") + 1
    runtime.process(docs[:cut])  # then the feed goes quiet
    assert [a.state for a in sink.messages] == ["open", "open"]
    late = docs[cut - 1].published_at + timedelta(hours=2)
    assert [a.state for a in runtime.tick(late)] == ["resolved"]


def test_public_surface_is_importable():
    import marketpulse.alerts as alerts

    assert all(getattr(alerts, name) for name in alerts.__all__)
