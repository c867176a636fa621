"""A worker restarted mid-stream: no alert lost or repeated, detector state intact.

The worker loop is the one the pipeline runs: write scores → engine.observe → sink.emit →
(every few batches) snapshot → ack. A crash lands between two of those steps; the batch that was
not acked is delivered again after the restart, as Kafka does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from marketpulse.alerts.engine import AlertEngine
from marketpulse.alerts.recovery import MemoryHistory, catch_up, load_snapshot, rebuild, save_snapshot
from marketpulse.alerts.signals import SHIFT
from marketpulse.alerts.sinks import AlertSink
from marketpulse.alerts.testing import T0, background, batches, burst
from marketpulse.store.memory import MemoryStore

DAY = 86400
WALL0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SNAPSHOT_EVERY = 7


class Crash(Exception):
    pass


class RecordingSink(AlertSink):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store=store)
        self.messages: list = []

    def emit(self, alerts) -> None:
        super().emit(alerts)
        self.messages += alerts


def stream() -> list[list]:
    # AAPL: an alert opens before the restart and must resolve after it; JPM: a shift straddles it.
    docs = (background(days=4) + burst("AAPL", 2 * DAY + 4 * 3600 + 1800, n=12)
            + burst("JPM", 2 * DAY + 5 * 3600 + 60, n=14, every_s=20, score=0.9))
    out = []
    for i, batch in enumerate(batches(docs, 10)):  # scored_at = when the worker scored the batch
        wall = WALL0 + timedelta(seconds=10 * i)
        out.append([d.model_copy(update={"scored_at": wall}) for d in batch])
    return out


def crash_index(all_batches) -> int:
    """The batch that holds the JPM burst's 4th document: mid-shift."""
    target = T0 + timedelta(seconds=2 * DAY + 5 * 3600 + 60 + 3 * 20)
    return next(i for i, b in enumerate(all_batches) if any(d.published_at == target for d in b))


def worker(all_batches, start: int, engine: AlertEngine, store: MemoryStore, sink: RecordingSink, path,
           crash_at: int | None = None, stage: str | None = None) -> int:
    for i in range(start, len(all_batches)):
        batch = all_batches[i]
        store.write_scores(batch)
        if (i, "after_scores") == (crash_at, stage):
            raise Crash(i)
        sink.emit(engine.observe(batch))
        if (i, "after_emit") == (crash_at, stage):
            raise Crash(i)
        if i % SNAPSHOT_EVERY == 0:
            save_snapshot(engine, path, now=batch[0].scored_at)
    return len(all_batches)


def reference(all_batches, tmp_path):
    store = MemoryStore()
    sink = RecordingSink(store)
    engine = AlertEngine()
    worker(all_batches, 0, engine, store, sink, tmp_path / "ref.json")
    return engine, store, sink


def keys(messages):
    return [(m.alert_id, m.state, m.severity, m.updated_at) for m in messages]


def state(engine: AlertEngine) -> str:
    snap = engine.snapshot()
    return json.dumps({k: snap[k] for k in ("detectors", "lifecycle", "watermark", "docs_observed")}, sort_keys=True)


@pytest.mark.parametrize("stage", ["after_scores", "after_emit"])
def test_restart_from_snapshot_and_catch_up(tmp_path, stage):
    all_batches = stream()
    ref_engine, ref_store, ref_sink = reference(all_batches, tmp_path)
    crash_at = crash_index(all_batches)
    assert crash_at % SNAPSHOT_EVERY, "the crash must fall between snapshots to exercise the catch-up"

    store, path = MemoryStore(), tmp_path / "state.json"
    sink = RecordingSink(store)
    with pytest.raises(Crash):
        worker(all_batches, 0, AlertEngine(), store, sink, path, crash_at, stage)
    opened_before = {m.alert_id for m in sink.messages if m.entity == "AAPL" and m.state == "open"}
    assert opened_before and not [m for m in sink.messages if m.entity == "AAPL" and m.state == "resolved"]

    engine, saved_at, unsent = load_snapshot(path)  # the restarted process
    assert unsent == []
    sink.emit(catch_up(engine, MemoryHistory(store), since=saved_at))
    worker(all_batches, crash_at, engine, store, sink, path)  # the un-acked batch comes again

    assert keys(sink.messages) == keys(ref_sink.messages)  # nothing lost, nothing repeated
    assert store.alerts == ref_store.alerts
    assert state(engine) == state(ref_engine)  # detector state intact
    jpm = [m for m in sink.messages if m.entity == "JPM" and m.rule == SHIFT and m.state == "open"]
    assert len({m.alert_id for m in jpm}) == 1  # the shift straddling the restart: detected once
    aapl = [m for m in sink.messages if m.entity == "AAPL"]
    assert {m.alert_id for m in aapl} == opened_before and aapl[-1].state == "resolved"


def test_rebuild_from_store_without_snapshot(tmp_path):
    all_batches = stream()
    ref_engine, _, ref_sink = reference(all_batches, tmp_path)
    crash_at = crash_index(all_batches)
    store = MemoryStore()
    sink = RecordingSink(store)
    with pytest.raises(Crash):
        worker(all_batches, 0, AlertEngine(), store, sink, tmp_path / "x.json", crash_at, "after_scores")

    engine, pending = rebuild(MemoryHistory(store), lookback_s=30 * DAY)
    sink.emit(pending)
    worker(all_batches, crash_at, engine, store, sink, tmp_path / "x.json")
    assert keys(sink.messages) == keys(ref_sink.messages)
    assert state(engine) == state(ref_engine)


def test_rebuild_with_short_lookback_adopts_the_open_alert(tmp_path):
    """The alert opened before the replayed window: it comes back from the store and resolves, once."""
    all_batches = stream()
    crash_at = crash_index(all_batches)
    store = MemoryStore()
    sink = RecordingSink(store)
    with pytest.raises(Crash):
        worker(all_batches, 0, AlertEngine(), store, sink, tmp_path / "x.json", crash_at, "after_emit")
    aapl_open = [m for m in sink.messages if m.entity == "AAPL" and m.state == "open"]

    engine, pending = rebuild(MemoryHistory(store), lookback_s=1800)  # window starts after AAPL's alert
    assert [a.alert_id for a in engine.open_alerts if a.entity == "AAPL"] == [aapl_open[0].alert_id]
    sink.emit(pending)
    worker(all_batches, crash_at, engine, store, sink, tmp_path / "x.json")
    aapl = [m for m in sink.messages if m.entity == "AAPL"]
    assert len({m.alert_id for m in aapl}) == 1 and [m.state for m in aapl].count("resolved") == 1
    opens = [(m.alert_id, m.severity) for m in sink.messages if m.state == "open"]
    assert len(opens) == len(set(opens))  # no message repeated
