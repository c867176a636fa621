"""The dev services as one Python API: what `marketpulse dev services` and the test fixtures call."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from marketpulse.core.settings import DevServicesSettings, KafkaSettings
from marketpulse.devservices import clickhouse, kafka

KAFKA = "kafka"
CLICKHOUSE = "clickhouse"
ALL = (KAFKA, CLICKHOUSE)


@dataclass(frozen=True)
class ServicesInfo:
    """Where the running services answer and what they are."""

    kafka_version: str | None
    clickhouse_version: str | None
    bootstrap_servers: str
    clickhouse_host: str
    clickhouse_port: int
    clickhouse_http_port: int
    started: tuple[str, ...] = field(default=())  # the services this call had to start


def _quiet(_: str) -> None:
    pass


def ensure_services(
    dev: DevServicesSettings | None = None,
    kafka_settings: KafkaSettings | None = None,
    only: Iterable[str] = ALL,
    say: Callable[[str], None] = _quiet,
) -> ServicesInfo:
    """Start whatever of `only` is not running (idempotent: running services are left alone)."""
    dev = dev or DevServicesSettings()
    wanted = set(only)
    started = []
    if KAFKA in wanted and not kafka.status(dev).running:
        say("kafka: starting")
        kafka.start(dev, kafka_settings or KafkaSettings(), say=say)
        started.append(KAFKA)
    if CLICKHOUSE in wanted and not clickhouse.status(dev).running:
        say("clickhouse: starting")
        clickhouse.start(dev, say=say)
        started.append(CLICKHOUSE)
    return services_info(dev, started=tuple(started))


def services_info(dev: DevServicesSettings | None = None, started: tuple[str, ...] = ()) -> ServicesInfo:
    dev = dev or DevServicesSettings()
    k, c = kafka.status(dev), clickhouse.status(dev)
    return ServicesInfo(k.version, c.version, k.bootstrap, c.host, c.port, c.http_port, started)


def stop_services(dev: DevServicesSettings | None = None, only: Iterable[str] = ALL) -> list[str]:
    """Stop the running services among `only`; returns the ones that were running."""
    dev = dev or DevServicesSettings()
    stopped = []
    # ClickHouse first: a worker draining into it may still be reading Kafka.
    if CLICKHOUSE in only and clickhouse.stop(dev):
        stopped.append(CLICKHOUSE)
    if KAFKA in only and kafka.stop(dev):
        stopped.append(KAFKA)
    return stopped


def stop_clickhouse(dev: DevServicesSettings | None = None) -> bool:
    """Stop only ClickHouse (outage tests). True if it was running."""
    return clickhouse.stop(dev or DevServicesSettings())


def start_clickhouse(dev: DevServicesSettings | None = None) -> str:
    """Start only ClickHouse and wait until it answers; returns its version."""
    dev = dev or DevServicesSettings()
    if not clickhouse.status(dev).running:
        clickhouse.start(dev)
    return clickhouse.server_version(dev)
