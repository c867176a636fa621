"""Prometheus metrics, module-level, with small fixed label sets (never a ticker or a doc id).

Label values used here: source (configured source names, a handful), kind (news|social),
stage and reason (the DeadLetterReason set), topic (configured topic names), outcome (ok|error).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

DOCUMENTS_PRODUCED = Counter(
    "marketpulse_documents_produced_total", "Raw documents handed to Kafka", ["source", "outcome"]
)
DOCUMENTS_CONSUMED = Counter("marketpulse_documents_consumed_total", "Raw messages consumed", ["topic"])
DOCUMENTS_STORED = Counter("marketpulse_documents_stored_total", "Documents written to the store", ["table"])
DEAD_LETTERS = Counter("marketpulse_dead_letters_total", "Records set aside", ["stage", "reason"])
BATCH_SIZE = Histogram(
    "marketpulse_batch_size", "Documents per processed batch", buckets=(1, 4, 16, 32, 64, 128, 256, 512, 1024)
)
INFERENCE_SECONDS = Histogram(
    "marketpulse_inference_seconds", "Classifier latency per batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGEST_TO_STORED_SECONDS = Histogram(
    "marketpulse_ingest_to_stored_seconds", "From ingestion (ingested_at) to the store accepting the document",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
PUBLISHED_TO_STORED_SECONDS = Histogram(
    "marketpulse_published_to_stored_seconds", "From publication (published_at) to the store: freshness",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400),
)
CONSUMER_LAG = Gauge("marketpulse_consumer_lag_messages", "Messages behind the partition end", ["topic", "partition"])
STORE_WRITE_SECONDS = Histogram("marketpulse_store_write_seconds", "Store write latency per batch", ["table"])
STORE_RETRIES = Counter("marketpulse_store_retries_total", "Failed store writes that were retried")
STORE_AVAILABLE = Gauge("marketpulse_store_available", "1 when the last store write succeeded")


def serve(port: int) -> None:
    """Expose /metrics on 127.0.0.1:port (0 = disabled)."""
    if port:
        start_http_server(port, addr="127.0.0.1")
