"""The Store seam: write batches idempotently, run read queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from marketpulse.core.messages import Alert, DeadLetter, RawDocument, ScoredDocument


class Store(Protocol):
    """Every write is idempotent by key (doc id, alert id, dead-letter id): retrying is always safe."""

    def migrate(self) -> list[str]: ...

    def write_documents(self, docs: Sequence[RawDocument]) -> None: ...

    def write_scores(self, scored: Sequence[ScoredDocument]) -> None: ...

    def write_alerts(self, alerts: Sequence[Alert]) -> None: ...

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]: ...

    def close(self) -> None: ...
