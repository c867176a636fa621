"""The stream processor with the real model: 10,000 real headlines through Kafka → Faust → ClickHouse.

Each test produces the same 10,000 distinct headlines and asserts 10,000 scored rows after FINAL,
whatever happened to the workers or the database in between.
"""

from __future__ import annotations

import re
import signal
import time
import uuid

import pytest

from marketpulse.core.settings import WorkerSettings
from marketpulse.devservices import start_clickhouse, stop_clickhouse
from marketpulse.inference.engine import load_classifier
from marketpulse.ingest.corpora import real_headlines
from marketpulse.ingest.producer import KafkaDocumentSink

from .processes import Worker, command_env, wait_until

N = 10_000


@pytest.fixture(scope="module")
def headlines():
    return real_headlines(N)


@pytest.fixture(scope="module")
def model_version():
    classifier = load_classifier()
    return classifier.name, classifier.version


def env_for(kafka_settings, clickhouse_settings, **worker):
    settings = WorkerSettings(app_id=f"mp-test-{uuid.uuid4().hex[:8]}", batch_max=256, batch_within_s=0.2,
                              store_retry_initial_s=0.5, store_retry_max_s=4.0, session_timeout_s=10.0, **worker)
    return command_env(kafka_settings, clickhouse_settings, settings)


def produce(kafka_settings, docs) -> None:
    sink = KafkaDocumentSink(kafka_settings, source="test")
    try:
        for doc in docs:
            sink.send(doc)
        sink.flush(60)
    finally:
        sink.close()


def scored_rows(store) -> int:
    try:
        return store.query("SELECT count() FROM scores FINAL")[0][0]
    except Exception:  # noqa: BLE001 - the database may be down on purpose (outage test)
        return -1


def assert_exactly_once(store, expected: int, model_version) -> None:
    assert store.query("SELECT count() FROM documents FINAL")[0][0] == expected
    assert store.query("SELECT uniqExact(doc_id) FROM documents")[0][0] == expected
    rows = store.query("SELECT model_name, model_version, count() FROM scores FINAL GROUP BY model_name, model_version")
    assert rows == [(*model_version, expected)]


def test_ten_thousand_headlines_one_worker(kafka_settings, clickhouse_settings, store, headlines, model_version,
                                           tmp_path):
    worker = Worker(env_for(kafka_settings, clickhouse_settings), tmp_path / "worker.log")
    try:
        produce(kafka_settings, headlines)
        wait_until(lambda: scored_rows(store) == N, 300, f"{N} scored rows", worker.log)
        assert_exactly_once(store, N, model_version)
        negative = store.query("SELECT count() FROM scores FINAL WHERE sentiment = 'negative'")[0][0]
        assert 0 < negative < N, "a real model spreads real headlines over the labels"
    finally:
        worker.stop()


def test_two_workers_share_four_partitions(kafka_settings, clickhouse_settings, store, headlines, model_version,
                                           tmp_path):
    env = env_for(kafka_settings, clickhouse_settings) | {"MARKETPULSE_MODEL_THREADS": "1"}
    workers = [Worker(env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    try:
        for w in workers:
            w.wait_for_log("assigned raw partitions", 120)
        produce(kafka_settings, headlines)
        wait_until(lambda: scored_rows(store) == N, 400, f"{N} scored rows", lambda: workers[0].log())
        assert_exactly_once(store, N, model_version)
        for w in workers:
            assigned = re.findall(r"assigned raw partitions: (.+)", w.log())
            assert any(a != "none" for a in assigned), f"{w.log_path.name} never got a partition: {assigned}"
    finally:
        for w in workers:
            w.stop()


def test_kill_9_mid_stream_then_restart(kafka_settings, clickhouse_settings, store, headlines, model_version,
                                        tmp_path):
    env = env_for(kafka_settings, clickhouse_settings)
    worker = Worker(env, tmp_path / "worker-1.log")
    try:
        produce(kafka_settings, headlines)
        wait_until(lambda: scored_rows(store) > 0, 180, "the first scored batch", worker.log)
        worker.stop(signal.SIGKILL)
        assert 0 < scored_rows(store) < N, "the worker was meant to die mid-stream"
        worker = Worker(env, tmp_path / "worker-2.log")
        wait_until(lambda: scored_rows(store) == N, 300, f"{N} scored rows after restart", worker.log)
        assert_exactly_once(store, N, model_version)
    finally:
        worker.stop()


def test_clickhouse_down_for_30_seconds_loses_nothing(kafka_settings, clickhouse_settings, store, headlines,
                                                      model_version, tmp_path):
    worker = Worker(env_for(kafka_settings, clickhouse_settings), tmp_path / "worker.log")
    try:
        produce(kafka_settings, headlines)
        wait_until(lambda: scored_rows(store) > 0, 180, "the first scored batch", worker.log)
        assert stop_clickhouse()
        time.sleep(30)
        assert worker.process.poll() is None, "the worker must ride out the outage"
        start_clickhouse()
        wait_until(lambda: scored_rows(store) == N, 300, f"{N} scored rows after the outage", worker.log)
        assert_exactly_once(store, N, model_version)
        assert "store unavailable" in worker.log()
    finally:
        start_clickhouse()
        worker.stop()
