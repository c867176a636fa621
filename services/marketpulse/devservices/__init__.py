"""Real Apache Kafka and ClickHouse servers for development and integration tests.

`marketpulse dev services up|down|status` drives them from the shell; tests use `ensure_services`.
Modules: process (pid files, start/stop), config (state dir, templates), kafka, clickhouse,
topics (create topics with explicit partitions), services (the API below).
"""

from marketpulse.devservices.services import (
    ServicesInfo,
    ensure_services,
    services_info,
    start_clickhouse,
    stop_clickhouse,
    stop_services,
)
from marketpulse.devservices.topics import delete_topics, ensure_topics, ensure_topics_async

__all__ = [
    "ServicesInfo",
    "delete_topics",
    "ensure_services",
    "ensure_topics",
    "ensure_topics_async",
    "services_info",
    "start_clickhouse",
    "stop_clickhouse",
    "stop_services",
]
