"""Versioned schema migrations: schemas/clickhouse/NNNN_name.sql, applied once each, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from marketpulse.core.paths import schemas_dir

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

MIGRATIONS_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree()
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _statements(sql: str) -> tuple[str, ...]:
    # Our DDL has no semicolons inside strings, so splitting on ';' after dropping comments is exact.
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in body.split(";") if s.strip())


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or schemas_dir() / "clickhouse"
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], _statements(path.read_text())))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return found


def pending(migrations: list[Migration], applied: set[int]) -> list[Migration]:
    return [m for m in migrations if m.version not in applied]
