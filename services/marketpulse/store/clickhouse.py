"""Store on a ClickHouse server over the native protocol (clickhouse-driver)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from marketpulse.core.errors import StoreError, StoreUnavailable
from marketpulse.core.metrics import DOCUMENTS_STORED, STORE_WRITE_SECONDS
from marketpulse.core.settings import ClickHouseSettings
from marketpulse.store import rows
from marketpulse.store.migrations import MIGRATIONS_TABLE_DDL, load_migrations, pending

log = logging.getLogger(__name__)

# Errors that mean "not reachable right now": back off and retry, the data is still ours.
_TRANSIENT = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, ConnectionError, OSError)


class ClickHouseStore(rows.TableWriter):
    def __init__(self, settings: ClickHouseSettings) -> None:
        self.settings = settings
        self.database = settings.database
        self._client = self._connect(settings.database)
        self._database_ready = False

    def _connect(self, database: str) -> Client:
        s = self.settings
        return Client(
            host=s.host, port=s.port, database=database, user=s.user,
            password=s.password.get_secret_value(), connect_timeout=s.connect_timeout_s,
            send_receive_timeout=s.send_receive_timeout_s
        )

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except _TRANSIENT as exc:
            self._client.disconnect()
            raise StoreUnavailable(f"{what}: ClickHouse unreachable: {exc}") from exc
        except ch_errors.Error as exc:
            raise StoreError(f"{what}: {exc}") from exc

    def _ensure_database(self) -> None:
        if self._database_ready:
            return
        bootstrap = self._connect("default")
        try:
            with self._translated("create database"):
                bootstrap.execute(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        finally:
            bootstrap.disconnect()
        self._database_ready = True

    def server_version(self) -> str:
        with self._translated("version"):
            return str(self._connect("default").execute("SELECT version()")[0][0])

    def migrate(self) -> list[str]:
        """Apply pending migrations in order; returns the names applied (none on a second run)."""
        self._ensure_database()
        with self._translated("migrate"):
            self._client.execute(MIGRATIONS_TABLE_DDL)
            applied = {v for (v,) in self._client.execute("SELECT version FROM schema_migrations")}
            done = []
            for migration in pending(load_migrations(), applied):
                for statement in migration.statements:
                    self._client.execute(statement)
                self._client.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES", [(migration.version, migration.name)]
                )
                done.append(f"{migration.version:04d}_{migration.name}")
                log.info("applied migration %04d_%s", migration.version, migration.name)
        return done

    def _insert(self, table: str, columns: Sequence[str], data: list[tuple]) -> None:
        if not data:
            return
        started = time.perf_counter()
        with self._translated(f"insert into {table}"):
            self._client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", data, types_check=True)
        STORE_WRITE_SECONDS.labels(table).observe(time.perf_counter() - started)
        DOCUMENTS_STORED.labels(table).inc(len(data))


    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with self._translated("query"):
            return self._client.execute(sql, params or {})

    def drop_database(self) -> None:
        """For tests: remove this store's database and everything in it."""
        with self._translated("drop database"):
            self._client.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        self._database_ready = False

    def close(self) -> None:
        self._client.disconnect()
