"""Settings: one frozen object per service, read from MARKETPULSE_* environment variables.

Nothing reads the environment at import time: call `XSettings()` where the service starts.
`marketpulse config show` lists every setting, its variable, its value and what it is for.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=f"MARKETPULSE_{prefix}", frozen=True, extra="ignore")


class KafkaSettings(BaseSettings):
    model_config = _config("KAFKA_")

    bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma-separated")
    topic_news: str = Field("mp.raw.news", description="raw news documents")
    topic_social: str = Field("mp.raw.social", description="raw social posts")
    topic_scored: str = Field("mp.scored", description="scored documents for downstream consumers")
    topic_dead_letter: str = Field("mp.dead-letter", description="records set aside, with a reason")
    topic_alerts: str = Field("mp.alerts", description="alerts")
    partitions: int = Field(4, ge=1, description="partition count used when marketpulse creates a topic")
    replication_factor: int = Field(1, ge=1, description="replication factor for created topics")
    compression: str = Field("gzip", description="producer compression: gzip, snappy, lz4, zstd or none")
    max_message_bytes: int = Field(
        4 * 1024 * 1024, description="largest message produced; oversized texts become dead letters, not errors"
    )
    client_id: str = Field("marketpulse", description="client id prefix shown by the broker")

    @property
    def raw_topics(self) -> tuple[str, str]:
        return (self.topic_news, self.topic_social)

    @property
    def all_topics(self) -> tuple[str, ...]:
        return (self.topic_news, self.topic_social, self.topic_scored, self.topic_dead_letter, self.topic_alerts)


class ClickHouseSettings(BaseSettings):
    model_config = _config("CLICKHOUSE_")

    host: str = Field("127.0.0.1", description="ClickHouse server host (native protocol)")
    port: int = Field(19000, description="ClickHouse native-protocol port")
    http_port: int = Field(18123, description="ClickHouse HTTP port (health checks, Grafana)")
    database: str = Field("marketpulse", description="database holding marketpulse's tables")
    user: str = Field("default", description="ClickHouse user")
    password: SecretStr = Field(SecretStr(""), description="ClickHouse password")
    connect_timeout_s: float = Field(5.0, description="connect timeout in seconds")
    send_receive_timeout_s: float = Field(60.0, description="query send/receive timeout in seconds")


class WorkerSettings(BaseSettings):
    model_config = _config("WORKER_")

    app_id: str = Field("marketpulse-worker", description="Faust app id = Kafka consumer group")
    batch_max: int = Field(256, ge=1, description="most documents taken into one batch")
    batch_within_s: float = Field(0.5, gt=0, description="longest wait to fill a batch, seconds")
    store_retry_initial_s: float = Field(0.5, gt=0, description="first back-off after a failed store write")
    store_retry_max_s: float = Field(15.0, gt=0, description="longest back-off between store write attempts")
    session_timeout_s: float = Field(
        30.0, gt=0, le=90, description="Kafka group session timeout: how soon a dead worker's partitions move"
    )
    web_port: int = Field(0, ge=0, description="Faust web port; 0 runs without the web server")
    metrics_port: int = Field(0, ge=0, description="Prometheus metrics port; 0 disables the endpoint")
    data_dir: Path = Field(Path(".marketpulse/worker"), description="Faust state (tables, rocksdb-less)")
    log_level: str = Field("info", description="log level")


class ReplaySettings(BaseSettings):
    model_config = _config("REPLAY_")

    speed: float = Field(0.0, ge=0, description="replay at N x real time; 0 = as fast as possible")
    flush_every: int = Field(5000, ge=1, description="flush the producer every N documents")


class DevServicesSettings(BaseSettings):
    model_config = _config("DEV_")

    state_dir: Path = Field(Path(".mp"), description="jars, data, logs and pids of the dev services")
    kafka_version: str = Field("3.9.1", description="Apache Kafka version fetched from Maven Central")
    scala_version: str = Field("2.13", description="Scala build of the Kafka jar")
    kafka_port: int = Field(19092, description="Kafka listener port on 127.0.0.1")
    kafka_controller_port: int = Field(19093, description="KRaft controller port on 127.0.0.1")
    kafka_heap: str = Field("-Xms256m -Xmx768m", description="JVM heap options for the broker")
    clickhouse_port: int = Field(19000, description="ClickHouse native port on 127.0.0.1")
    clickhouse_http_port: int = Field(18123, description="ClickHouse HTTP port on 127.0.0.1")
    start_timeout_s: float = Field(90.0, description="how long to wait for a service to become ready")


class ModelSettings(BaseSettings):
    model_config = _config("MODEL_")

    dir: Path | None = Field(None, description="model directory; default: the shipped model under models/")
    provider: str = Field("auto", description="execution provider: auto, cuda or cpu")
    threads: int = Field(0, ge=0, description="CPU cores the engine uses in all; 0 = every usable core")
    lanes: int = Field(0, ge=0, description="CPU sessions run side by side on different batches, sharing "
                       "the threads; 0 = one single-threaded lane per core, at most 4")
    max_batch_tokens: int = Field(8192, ge=64, description="token budget of one forward pass")


def all_settings() -> tuple[type[BaseSettings], ...]:
    """Every settings class of every service, for `marketpulse config show`."""
    # Imported here: those modules import this one.
    from marketpulse.alerts.settings import AlertSettings, SectorSignalSettings, TickerSignalSettings, WebhookSettings
    from marketpulse.ingest.settings import HttpPushSettings, IngestSettings

    return (
        KafkaSettings, ClickHouseSettings, WorkerSettings, ReplaySettings, DevServicesSettings, ModelSettings,
        IngestSettings, HttpPushSettings, AlertSettings, TickerSignalSettings, SectorSignalSettings, WebhookSettings,
    )


def describe(settings_cls: type[BaseSettings]) -> list[tuple[str, str, str]]:
    """(environment variable, current value, description) for every field of a settings class."""
    prefix = settings_cls.model_config.get("env_prefix", "")
    current = settings_cls()
    rows = []
    for name, field in settings_cls.model_fields.items():
        value = getattr(current, name)
        shown = "**********" if isinstance(value, SecretStr) and value.get_secret_value() else str(value)
        rows.append((f"{prefix}{name}".upper(), shown, field.description or ""))
    return rows


def to_env(*settings: BaseSettings) -> dict[str, str]:
    """The MARKETPULSE_* variables that reproduce these settings in another process."""
    env = {}
    for s in settings:
        prefix = type(s).model_config.get("env_prefix", "")
        for name in type(s).model_fields:
            value = getattr(s, name)
            if value is None:
                continue
            env[f"{prefix}{name}".upper()] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    return env
