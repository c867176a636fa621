"""The dev services are the real thing: Kafka 3.9 speaks to both Python clients, ClickHouse answers,
big messages pass the broker, and ClickHouse survives a stop/start with its data."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer

from marketpulse.core.settings import DevServicesSettings
from marketpulse.devservices import clickhouse as ch
from marketpulse.devservices import start_clickhouse, stop_clickhouse


def _consume(bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list:
    """Read `count` records from the start of `topic` with aiokafka (the client under Faust)."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> list:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        records: list = []
        try:
            deadline = time.monotonic() + timeout_s
            while len(records) < count and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                records.extend(r for batch in batches.values() for r in batch)
        finally:
            await consumer.stop()
        return records

    return asyncio.run(run())


def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=8 * 1024 * 1024)
    try:
        producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def test_services_report_real_versions(services):
    assert services.kafka_version and services.kafka_version.startswith("3.9."), services.kafka_version
    assert services.clickhouse_version and services.clickhouse_version[0].isdigit()


def test_kafka_python_acks_all_message_is_consumed_by_aiokafka(kafka_settings):
    topic = kafka_settings.topic_news
    _produce(kafka_settings.bootstrap_servers, topic, b"AAPL", b'{"title": "Apple beats estimates"}')
    [record] = _consume(kafka_settings.bootstrap_servers, topic, 1)
    assert (record.key, record.value) == (b"AAPL", b'{"title": "Apple beats estimates"}')


def test_topics_have_the_requested_partitions(kafka_settings):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=kafka_settings.bootstrap_servers)
    try:
        assert consumer.partitions_for_topic(kafka_settings.topic_news) == {0, 1, 2, 3}
    finally:
        consumer.close()


def test_broker_accepts_a_message_above_the_default_one_megabyte(kafka_settings):
    big = os.urandom(1_200_000)  # random bytes: compression cannot shrink it under the old limit
    _produce(kafka_settings.bootstrap_servers, kafka_settings.topic_dead_letter, b"big", big)
    [record] = _consume(kafka_settings.bootstrap_servers, kafka_settings.topic_dead_letter, 1)
    assert record.value == big


def test_clickhouse_answers_select_1(clickhouse_settings):
    client = Client(host=clickhouse_settings.host, port=clickhouse_settings.port)
    assert client.execute("SELECT 1") == [(1,)]
    assert client.execute(
        "SELECT name FROM system.databases WHERE name = %(db)s", {"db": clickhouse_settings.database}
    ) == [(clickhouse_settings.database,)]


@pytest.mark.slow
def test_clickhouse_stop_and_start_keeps_data(clickhouse_settings):
    table = f"{clickhouse_settings.database}.t"
    client = Client(host=clickhouse_settings.host, port=clickhouse_settings.port)
    client.execute(f"CREATE TABLE {table} (id UInt32) ENGINE = MergeTree ORDER BY id")
    client.execute(f"INSERT INTO {table} (id) VALUES", [(1,), (2,), (3,)])
    client.disconnect()

    t0 = time.monotonic()
    assert stop_clickhouse() is True
    assert not ch.ping(DevServicesSettings().clickhouse_http_port)
    assert stop_clickhouse() is False  # stopping a stopped server is fine
    version = start_clickhouse()
    assert version and time.monotonic() - t0 < 30

    assert Client(host=clickhouse_settings.host, port=clickhouse_settings.port).execute(
        f"SELECT count() FROM {table}"
    ) == [(3,)]
