"""Alerts against the real stores: written and read back FINAL, engine rebuilt from the tables,
on the ClickHouse server (18.16 here) and on chDB (modern ClickHouse); alerts on the real topic."""

from __future__ import annotations

import json

import jsonschema
import pytest

from marketpulse.alerts.engine import AlertEngine
from marketpulse.alerts.recovery import StoreHistory, catch_up, rebuild
from marketpulse.alerts.sinks import AlertSink, kafka_publisher
from marketpulse.alerts.testing import background, batches, burst
from marketpulse.core.messages import Alert
from marketpulse.core.paths import schemas_dir

DAY = 86400


@pytest.fixture(params=["clickhouse", "chdb"])
def store(request, tmp_path):
    if request.param == "clickhouse":
        from marketpulse.store.clickhouse import ClickHouseStore

        s = ClickHouseStore(request.getfixturevalue("clickhouse_settings"))
    else:
        from marketpulse.store.embedded import ChdbStore

        s = ChdbStore(tmp_path / "chdb")
    s.migrate()
    yield s
    s.close()


def detector_state(engine: AlertEngine) -> str:
    snap = engine.snapshot()
    return json.dumps({k: snap[k] for k in ("detectors", "lifecycle", "watermark")}, sort_keys=True)


def run_stream(store, docs, engine: AlertEngine) -> list[Alert]:
    sink, out = AlertSink(store), []
    for batch in batches(docs, 100):
        store.write_scores(batch)
        alerts = engine.observe(batch)
        sink.emit(alerts)
        out += alerts
    return out


def test_alerts_read_back_final_and_engine_rebuilt_exactly(store):
    docs = (background(days=3) + burst("AAPL", 2 * DAY + 3600, n=12)
            + burst("JPM", 2 * DAY + 4 * 3600, n=12, score=0.9) + burst("XOM", 3 * DAY - 600, n=10))
    engine = AlertEngine()
    emitted = run_stream(store, docs, engine)
    store.write_alerts(emitted[:3])  # an at-least-once repeat of older messages: FINAL keeps the latest

    history = StoreHistory(store)
    final = {a.alert_id: a for a in emitted}
    assert {a.alert_id: a for a in history.alerts()} == final
    assert {a.alert_id for a in history.alerts(open_only=True)} == {a.alert_id for a in engine.open_alerts}
    assert engine.open_alerts  # XOM's alert is still open at the end of the stream

    rebuilt, pending = rebuild(history, lookback_s=30 * DAY)  # a restart with no snapshot
    assert pending == []  # the store already has every message: nothing to repeat
    assert detector_state(rebuilt) == detector_state(engine)  # scores read back exactly (seconds, float32)

    more = burst("MSFT", 3 * DAY + 60, n=10, score=-0.9)
    store.write_scores(more)  # scored, but the worker died before observing them
    late = catch_up(rebuilt, history, since=more[0].scored_at, margin_s=0)
    assert late and {(a.entity, a.state) for a in late} == {("MSFT", "open")}


def test_alerts_on_the_topic_match_the_schema(kafka_settings):
    from kafka import KafkaConsumer

    engine = AlertEngine()
    alerts = [a for b in batches(background(days=3) + burst("AAPL", 2 * DAY, n=12), 200) for a in engine.observe(b)]
    assert alerts
    AlertSink(publish=kafka_publisher(kafka_settings.bootstrap_servers, kafka_settings.topic_alerts)).emit(alerts)

    consumer = KafkaConsumer(kafka_settings.topic_alerts, bootstrap_servers=kafka_settings.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    try:
        got = [m for m, _ in zip(consumer, range(len(alerts)), strict=False)]
    finally:
        consumer.close()
    schema = json.loads((schemas_dir() / "alert.schema.json").read_text())
    for message in got:
        jsonschema.validate(json.loads(message.value), schema, format_checker=jsonschema.FormatChecker())
    assert sorted((m.key.decode(), Alert.model_validate_json(m.value).state) for m in got) == \
        sorted((a.alert_id, a.state) for a in alerts)
