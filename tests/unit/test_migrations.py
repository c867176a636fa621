"""Migration files: naming, order, statement splitting, pending selection."""

from __future__ import annotations

import pytest

from marketpulse.store.migrations import load_migrations, pending


def test_shipped_migrations_are_ordered_and_split():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    names = {m.name for m in migrations}
    assert {"documents", "scores", "entity_sentiment_1m", "alerts", "dead_letters"} <= names
    rollup = next(m for m in migrations if m.name == "entity_sentiment_1m")
    assert len(rollup.statements) == 2 and rollup.statements[1].startswith("CREATE MATERIALIZED VIEW")
    assert all("--" not in s for m in migrations for s in m.statements)


def test_pending_skips_applied_versions():
    migrations = load_migrations()
    assert [m.version for m in pending(migrations, {1, 2})] == [m.version for m in migrations][2:]


def test_badly_named_file_is_refused(tmp_path):
    (tmp_path / "1_oops.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match="NNNN_name"):
        load_migrations(tmp_path)
