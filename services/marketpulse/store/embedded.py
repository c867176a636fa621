"""Store on chDB: the ClickHouse engine in-process, for the embedded runner (no server).

Same migrations and row shapes as the server store. chDB holds a file lock on its directory, so
one process owns it: the embedded runner keeps its writer and its readers (API, dashboard) together.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
from chdb import session as chdb_session
from clickhouse_driver.util.escape import escape_params

from marketpulse.core.errors import StoreError
from marketpulse.core.metrics import DOCUMENTS_STORED
from marketpulse.store import rows
from marketpulse.store.migrations import MIGRATIONS_TABLE_DDL, load_migrations, pending

# Parameters are substituted exactly as clickhouse-driver does it for a UTC server.
_UTC_CONTEXT = SimpleNamespace(server_info=SimpleNamespace(get_timezone=lambda: "UTC"))


def render(sql: str, params: dict[str, Any] | None) -> str:
    return sql % escape_params(params, _UTC_CONTEXT) if params else sql


class ChdbStore(rows.TableWriter):
    def __init__(self, path: Path, database: str = "marketpulse") -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.database = database
        self._session = chdb_session.Session(str(path))
        self._lock = threading.Lock()  # one chDB session is not safe for concurrent queries
        self._run(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        self._run(f"USE `{database}`")

    def _run(self, sql: str, fmt: str = "CSV"):
        with self._lock:
            try:
                return self._session.query(sql, fmt)
            except Exception as exc:  # noqa: BLE001 - chDB raises plain RuntimeError for SQL errors
                raise StoreError(f"chDB: {exc}") from exc

    def server_version(self) -> str:
        return f"chDB {str(self._run('SELECT version()')).strip().strip(chr(34))}"

    def migrate(self) -> list[str]:
        self._run(MIGRATIONS_TABLE_DDL)
        applied = {int(v) for (v,) in self.query("SELECT version FROM schema_migrations")}
        done = []
        for migration in pending(load_migrations(), applied):
            for statement in migration.statements:
                self._run(statement)
            self._run(f"INSERT INTO schema_migrations (version, name) VALUES ({migration.version}, '{migration.name}')")
            done.append(f"{migration.version:04d}_{migration.name}")
        return done

    def _insert(self, table: str, columns: Sequence[str], data: list[tuple]) -> None:
        if not data:
            return
        arrow = _arrow(columns, data)  # noqa: F841 - read by name by chDB's Python() table function
        self._run(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM Python(arrow)")
        DOCUMENTS_STORED.labels(table).inc(len(data))


    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """Rows as tuples with the types clickhouse-driver would give (aware UTC datetimes)."""
        result = json.loads(str(self._run(render(sql, params), "JSONCompact")) or "{}")
        types = [column["type"] for column in result.get("meta", [])]
        return [tuple(_value(v, t) for v, t in zip(row, types, strict=True)) for row in result.get("data", [])]

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _arrow(columns: Sequence[str], data: list[tuple]) -> pa.Table:
    arrays = {}
    for i, name in enumerate(columns):
        values = [row[i] for row in data]
        if isinstance(values[0], datetime):
            # rows.py hands naive UTC datetimes (what clickhouse-driver wants); say they are UTC.
            arrays[name] = pa.array(values, type=pa.timestamp("s", tz="UTC"))
        else:
            array = pa.array(values)
            if pa.types.is_list(array.type) and pa.types.is_null(array.type.value_type):
                array = array.cast(pa.list_(pa.string()))  # all lists empty: any element type converts
            arrays[name] = array
    return pa.table(arrays)


def _value(value: Any, ch_type: str) -> Any:
    base = ch_type.removeprefix("LowCardinality(").removeprefix("Nullable(")
    if value is None:
        return None
    if base.startswith("Array("):
        return [_value(v, base[6:-1]) for v in value]
    if base.startswith("DateTime"):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if base.startswith(("UInt", "Int")):
        return int(value)
    if base.startswith("Float"):
        return float(value)
    return value
