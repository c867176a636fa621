"""The Faust application of `marketpulse worker`, built at start-up from settings (never at import)."""

from __future__ import annotations

import faust

from marketpulse.core.settings import KafkaSettings, WorkerSettings


def create_app(kafka: KafkaSettings, worker: WorkerSettings) -> faust.App:
    servers = [f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",")]
    worker.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    return faust.App(
        worker.app_id,
        broker=servers,
        store="memory://",
        datadir=str(worker.data_dir),
        web_enabled=worker.web_port > 0,
        web_port=worker.web_port or 6066,
        web_bind="127.0.0.1",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        topic_allow_declare=False,  # topics are created up front with the right partition count
        consumer_auto_offset_reset="earliest",
        # Faust pitfall: session timeout must not exceed the request timeout.
        broker_session_timeout=worker.session_timeout_s,
        broker_request_timeout=90.0,
        broker_heartbeat_interval=3.0,
        broker_commit_interval=1.0,
        broker_max_poll_records=max(500, worker.batch_max * 2),
        producer_max_request_size=kafka.max_message_bytes,
        consumer_max_fetch_size=kafka.max_message_bytes * 2,
        producer_acks=-1,
        stream_buffer_maxsize=max(4096, worker.batch_max * 4),
        logging_config=None,
    )


def raw_topic(app: faust.App, kafka: KafkaSettings) -> faust.TopicT:
    # Bytes in, bytes out: decoding is the pipeline's job, so a bad message becomes a dead letter
    # instead of a serializer exception inside Faust.
    return app.topic(*kafka.raw_topics, key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")


def bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
