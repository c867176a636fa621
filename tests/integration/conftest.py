"""Integration tests run against the real Apache Kafka broker and ClickHouse server.

The session fixture `services` starts whatever is not running (the same code as
`marketpulse dev services up`) and leaves it running for fast re-runs; set
MARKETPULSE_DEV_STOP_AFTER_TESTS=1 to stop them at the end. Each test gets its own topics
(`kafka_settings`) and its own database (`clickhouse_settings`), so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

import pytest

from marketpulse.core.settings import ClickHouseSettings, DevServicesSettings, KafkaSettings
from marketpulse.devservices import ServicesInfo, delete_topics, ensure_services, ensure_topics, stop_services
from marketpulse.store.clickhouse import ClickHouseStore

TEST_PARTITIONS = 4
_HERE = Path(__file__).parent
_versions: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter) -> None:
    # Repeated at the end so the versions are in the output whatever the capture mode.
    for line in _versions:
        terminalreporter.write_line(line)


def _announce(config: pytest.Config, line: str) -> None:
    """Write straight to the terminal, past output capture (the versions must show without -s)."""
    _versions.append(line)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)
    else:
        reporter.write_line(line)


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest) -> ServicesInfo:
    dev = DevServicesSettings()
    info = ensure_services(dev)
    started = f" (started now: {', '.join(info.started)})" if info.started else ""
    _announce(
        request.config,
        f"dev services: Apache Kafka {info.kafka_version} at {info.bootstrap_servers}, "
        f"ClickHouse server {info.clickhouse_version} at {info.clickhouse_host}:{info.clickhouse_port}{started}",
    )
    yield info
    if os.environ.get("MARKETPULSE_DEV_STOP_AFTER_TESTS") == "1":
        stop_services(dev)


def _test_id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def kafka_settings(services: ServicesInfo) -> KafkaSettings:
    """KafkaSettings whose five topics are fresh (4 partitions each) and belong to this test alone."""
    prefix = f"t{_test_id()}"
    settings = KafkaSettings(
        bootstrap_servers=services.bootstrap_servers,
        topic_news=f"{prefix}.raw.news",
        topic_social=f"{prefix}.raw.social",
        topic_scored=f"{prefix}.scored",
        topic_dead_letter=f"{prefix}.dead-letter",
        topic_alerts=f"{prefix}.alerts",
        partitions=TEST_PARTITIONS,
        client_id=f"mp-{prefix}",
    )
    ensure_topics(settings.bootstrap_servers, settings.all_topics, TEST_PARTITIONS)
    yield settings
    # Deleting keeps the dev broker small across hundreds of test runs; failure here is not the test's.
    try:
        delete_topics(settings.bootstrap_servers, settings.all_topics)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"could not delete test topics: {exc}", stacklevel=1)


@pytest.fixture
def clickhouse_settings(services: ServicesInfo) -> ClickHouseSettings:
    """ClickHouseSettings pointing at a database of this test's own (created empty, dropped after)."""
    # An earlier test may have stopped the server (outage tests); bring it back before this one.
    ensure_services(DevServicesSettings(), only=("clickhouse",))
    settings = ClickHouseSettings(
        host=services.clickhouse_host,
        port=services.clickhouse_port,
        http_port=services.clickhouse_http_port,
        database=f"mp_test_{_test_id()}",
    )
    _execute(settings, f"CREATE DATABASE IF NOT EXISTS {settings.database}")
    yield settings
    # The server may have been stopped by the test itself (outage tests) and not restarted.
    try:
        _execute(settings, f"DROP DATABASE IF EXISTS {settings.database}")
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"could not drop {settings.database}: {exc}", stacklevel=1)


def _execute(settings: ClickHouseSettings, query: str) -> None:
    from clickhouse_driver import Client

    # No connection is held across the test: an idle one would delay a ClickHouse stop.
    client = Client(host=settings.host, port=settings.port)
    try:
        client.execute(query)
    finally:
        client.disconnect()


@pytest.fixture
def store(clickhouse_settings):
    """A migrated ClickHouseStore on this test's database."""
    store = ClickHouseStore(clickhouse_settings)
    store.migrate()
    yield store
    store.close()
