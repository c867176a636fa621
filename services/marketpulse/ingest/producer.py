"""Kafka producer for raw documents and dead letters (kafka-python, acks=all, idempotent)."""

from __future__ import annotations

import json
import logging
import threading

from kafka import KafkaProducer
from kafka.errors import KafkaConfigurationError, KafkaError

from marketpulse.core.errors import MarketpulseError
from marketpulse.core.messages import DeadLetter, RawDocument, SourceKind
from marketpulse.core.metrics import DEAD_LETTERS, DOCUMENTS_PRODUCED
from marketpulse.core.settings import KafkaSettings

log = logging.getLogger(__name__)


class DeliveryError(MarketpulseError):
    """Some messages could not be delivered to Kafka."""


def _producer(settings: KafkaSettings, source: str) -> tuple[KafkaProducer, bool]:
    """An idempotent producer where the broker supports it (Kafka ≥ 0.11), else acks=all with one
    request in flight, which keeps per-partition order across retries."""
    common = dict(
        bootstrap_servers=settings.bootstrap_servers.split(","),
        client_id=f"{settings.client_id}-ingest-{source}",
        acks="all",
        compression_type=None if settings.compression == "none" else settings.compression,
        max_request_size=settings.max_message_bytes,
        linger_ms=20,
        batch_size=256 * 1024,
        retries=5,
    )
    try:
        return KafkaProducer(enable_idempotence=True, **common), True
    except KafkaConfigurationError as exc:
        log.warning("idempotent producer not supported here (%s); using acks=all, 1 request in flight", exc)
        return KafkaProducer(enable_idempotence=False, max_in_flight_requests_per_connection=1, **common), False


class KafkaDocumentSink:
    """DocumentSink over Kafka. Sends asynchronously; `flush` raises if any delivery failed."""

    def __init__(self, settings: KafkaSettings, source: str = "unknown") -> None:
        self.settings = settings
        self.source = source
        self._producer, self.idempotent = _producer(settings, source)
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self.delivered = 0

    def send(self, doc: RawDocument) -> None:
        topic = self.settings.topic_news if doc.source_kind is SourceKind.NEWS else self.settings.topic_social
        value = doc.model_dump_json().encode()
        # Metrics are labelled with the sink's configured source, never the document's own (a pushed
        # document names its source freely: an unbounded label set).
        self._send(topic, doc.kafka_key(), value, self.source)

    def send_dead_letter(self, letter: DeadLetter) -> None:
        DEAD_LETTERS.labels(letter.stage, letter.reason.value).inc()
        value = json.dumps(letter.model_dump(mode="json")).encode()
        self._send(self.settings.topic_dead_letter, letter.id.encode(), value, self.source)

    def _send(self, topic: str, key: bytes, value: bytes, source: str) -> None:
        future = self._producer.send(topic, key=key, value=value)
        future.add_callback(self._on_delivered, source)
        future.add_errback(self._on_failed, source, topic)

    def _on_delivered(self, source: str, _metadata: object) -> None:
        DOCUMENTS_PRODUCED.labels(source, "ok").inc()
        with self._lock:
            self.delivered += 1

    def _on_failed(self, source: str, topic: str, exc: BaseException) -> None:
        DOCUMENTS_PRODUCED.labels(source, "error").inc()
        log.error("delivery to %s failed: %s", topic, exc)
        with self._lock:
            self._failures.append(f"{topic}: {exc}")

    def flush(self, timeout_s: float | None = None) -> None:
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise DeliveryError(f"flush failed: {exc}") from exc
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            raise DeliveryError(f"{len(failures)} message(s) not delivered, first: {failures[0]}")

    def close(self) -> None:
        self._producer.close(timeout=10)
