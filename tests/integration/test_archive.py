"""Foundation path end to end: replay → real Kafka → `marketpulse worker` (Faust) → real ClickHouse."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from marketpulse.core.paths import shared_datasets_dir
from marketpulse.core.settings import WorkerSettings
from marketpulse.store.clickhouse import ClickHouseStore

from .processes import Worker, command_env, marketpulse, wait_until

FINVIZ = shared_datasets_dir() / "finviz_news_nasdaq100_2022_2023" / "stock_news.csv"


def distinct_finviz_documents() -> int:
    # A FinViz document is a link: the same story filed under two tickers is one document.
    with FINVIZ.open(newline="", encoding="utf-8") as fh:
        return len({row["link"] for row in csv.DictReader(fh)})


@pytest.fixture
def worker_settings(tmp_path):
    return WorkerSettings(app_id=f"mp-test-{uuid.uuid4().hex[:8]}", data_dir=tmp_path / "faust",
                          batch_max=200, batch_within_s=0.2, store_retry_initial_s=0.2, store_retry_max_s=2.0)


@pytest.fixture
def env(kafka_settings, clickhouse_settings, worker_settings):
    return command_env(kafka_settings, clickhouse_settings, worker_settings)


def count(store: ClickHouseStore, table: str = "documents") -> int:
    return store.query(f"SELECT count() FROM {table} FINAL")[0][0]


def consumed_everything(kafka_settings, group: str) -> bool:
    """True when the worker's consumer group has committed every raw message produced so far."""
    consumer = KafkaConsumer(bootstrap_servers=kafka_settings.bootstrap_servers, group_id=group,
                             enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in kafka_settings.raw_topics
                 for p in consumer.partitions_for_topic(t) or ()]
        ends = consumer.end_offsets(parts)
        return all((consumer.committed(tp) or 0) >= ends[tp] for tp in parts)
    finally:
        consumer.close()


def test_replaying_finviz_twice_leaves_one_row_per_document(env, store, kafka_settings, worker_settings, tmp_path):
    expected = distinct_finviz_documents()
    worker = Worker(env, tmp_path / "worker.log", "--no-classify")
    try:
        marketpulse("ingest", "replay", str(FINVIZ), "--preset", "finviz", env=env)
        wait_until(lambda: count(store) == expected, 180, f"{expected} documents", worker.log)
        marketpulse("ingest", "replay", str(FINVIZ), "--preset", "finviz", env=env)
        wait_until(lambda: consumed_everything(kafka_settings, worker_settings.app_id), 180,
                   "the second replay to be consumed", worker.log)
        assert count(store) == expected
        assert store.query("SELECT uniqExact(doc_id) FROM documents")[0][0] == expected
        multi = store.query("SELECT count() FROM documents FINAL WHERE length(tickers) > 1")[0][0]
        assert multi > 0, "stories filed under several tickers keep all of them"
    finally:
        worker.stop()


def test_sigterm_mid_replay_then_restart_loses_nothing(env, store, tmp_path):
    expected = distinct_finviz_documents()
    worker = Worker(env, tmp_path / "worker-1.log", "--no-classify")
    replay = subprocess.Popen([sys.executable, "-m", "marketpulse", "ingest", "replay", str(FINVIZ),
                               "--preset", "finviz"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: count(store) > 0, 120, "the first stored batch", worker.log)
        assert worker.stop(signal.SIGTERM) == 0, worker.log()[-3000:]
        stored_at_stop = count(store)
        assert replay.wait(180) == 0, replay.stderr.read().decode()[-2000:]
        assert stored_at_stop < expected, "the worker was meant to stop mid-stream"
        worker = Worker(env, tmp_path / "worker-2.log", "--no-classify")
        wait_until(lambda: count(store) == expected, 180, f"{expected} documents after restart", worker.log)
        assert store.query("SELECT uniqExact(doc_id) FROM documents")[0][0] == expected
    finally:
        replay.kill()
        worker.stop()


GOOD = {"id": "t:good", "source": "test", "source_kind": "news", "text": "Nvidia shares rise",
        "published_at": "2024-05-31T12:00:00Z", "ingested_at": "2024-05-31T12:00:01Z"}
BAD_INPUTS = {
    "not_json": b"this is not json {",
    "missing_field": json.dumps({k: v for k, v in GOOD.items() if k != "text"} | {"id": "t:1"}).encode(),
    "bad_timestamp": json.dumps(GOOD | {"id": "t:2", "published_at": "yesterday-ish"}).encode(),
    "implausible_timestamp": json.dumps(GOOD | {"id": "t:3", "published_at": "1900-01-01T00:00:00Z"}).encode(),
    "text_too_large": json.dumps(GOOD | {"id": "t:4", "text": "word " * 220_000}).encode(),
    "wrong_type": json.dumps(GOOD | {"id": "t:5", "text": ["not", "a", "string"]}).encode(),
}


def test_each_bad_input_lands_in_dead_letters_with_its_reason(env, store, kafka_settings, tmp_path):
    worker = Worker(env, tmp_path / "worker.log", "--no-classify")
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers, acks="all",
                             max_request_size=kafka_settings.max_message_bytes)
    try:
        for payload in BAD_INPUTS.values():
            producer.send(kafka_settings.topic_news, key=b"bad", value=payload)
        producer.send(kafka_settings.topic_news, key=b"good", value=json.dumps(GOOD).encode())
        producer.flush()
        wait_until(lambda: count(store, "dead_letters") >= len(BAD_INPUTS) and count(store) == 1, 180,
                   "dead letters and the good document", worker.log)
        rows = store.query("SELECT reason, stage, detail, payload_bytes, kafka_topic FROM dead_letters FINAL")
        by_reason = {r[0]: r for r in rows}
        assert set(by_reason) == set(BAD_INPUTS)
        assert all(r[1] == "validate" and r[2] and r[4] == kafka_settings.topic_news for r in rows)
        assert by_reason["text_too_large"][3] > 1_000_000
        # The worker is still running and still storing.
        assert worker.process.poll() is None
        producer.send(kafka_settings.topic_news, value=json.dumps(GOOD | {"id": "t:after"}).encode())
        producer.flush()
        wait_until(lambda: count(store) == 2, 60, "a document after the bad ones", worker.log)
    finally:
        producer.close()
        worker.stop()
