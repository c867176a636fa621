"""Settings of the ingestion services (RSS poller, social reader, HTTP push), MARKETPULSE_INGEST_* and
MARKETPULSE_HTTP_*. Nothing reads the environment at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from marketpulse.core.settings import _config


class IngestSettings(BaseSettings):
    model_config = _config("INGEST_")

    state_dir: Path = Field(Path(".marketpulse/ingest"), description="per-feed poll state (ETag, seen ids)")
    poll_interval_s: float = Field(300.0, gt=0, description="seconds between two polls of the same feed")
    http_timeout_s: float = Field(20.0, gt=0, description="timeout of one feed or social HTTP request")
    user_agent: str = Field("marketpulse/0.1 (+feed poller)", description="User-Agent sent to feeds")
    seen_ids_per_feed: int = Field(5000, ge=10, description="item ids remembered per feed across restarts")
    dedup_window_s: float = Field(6 * 3600.0, ge=0, description="near-duplicate window in seconds; 0 disables")
    dedup_max_items: int = Field(50_000, ge=100, description="documents remembered for near-duplicate checks")
    link_entities: bool = Field(True, description="run the entity linker on every document")
    entity_min_confidence: float = Field(0.7, ge=0, le=1, description="weakest entity mention kept")


class HttpPushSettings(BaseSettings):
    model_config = _config("HTTP_")

    host: str = Field("127.0.0.1", description="address the push endpoint listens on")
    port: int = Field(18080, ge=0, description="port of POST /ingest")
    token: SecretStr = Field(SecretStr(""), description="bearer token clients must send; empty refuses all")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest request body; larger gets 413")
    max_batch: int = Field(1000, ge=1, description="most documents in one request")
    queue_size: int = Field(20_000, ge=1, description="documents waiting for Kafka; beyond it requests get 429")
    retry_after_s: int = Field(1, ge=1, description="Retry-After sent with 429")
    source: str = Field("push", description="default source name of pushed documents")
