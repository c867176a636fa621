"""Ingestion metrics. Labels: source = the source kind (rss, stocktwits, reddit, push, replay), never a
feed URL; outcome and status come from small fixed sets."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INGEST_ITEMS = Counter(
    "marketpulse_ingest_items_total", "Items read by a source, by outcome (document|dead_letter|duplicate)",
    ["source", "outcome"],
)
FEED_FETCHES = Counter(
    "marketpulse_feed_fetches_total", "Feed fetches by outcome (ok|not_modified|error)", ["outcome"]
)
PUSH_REQUESTS = Counter("marketpulse_push_requests_total", "POST /ingest requests by HTTP status", ["status"])
PUSH_QUEUE_DEPTH = Gauge("marketpulse_push_queue_depth", "Pushed documents waiting for the producer")
