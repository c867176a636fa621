"""In-memory Store for unit tests: keyed like the real tables, so duplicates collapse the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marketpulse.core.errors import StoreUnavailable
from marketpulse.core.messages import Alert, DeadLetter, RawDocument, ScoredDocument


class MemoryStore:
    def __init__(self) -> None:
        self.documents: dict[str, RawDocument] = {}
        self.scores: dict[tuple[str, str, str], ScoredDocument] = {}
        self.alerts: dict[str, Alert] = {}
        self.dead_letters: dict[str, DeadLetter] = {}
        self.writes = 0
        self.fail_next = 0  # make the next N writes raise StoreUnavailable, to test retries

    def _write(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise StoreUnavailable("memory store told to fail")
        self.writes += 1

    def migrate(self) -> list[str]:
        return []

    def write_documents(self, docs: Sequence[RawDocument]) -> None:
        self._write()
        self.documents.update((d.id, d) for d in docs)

    def write_scores(self, scored: Sequence[ScoredDocument]) -> None:
        self._write()
        self.scores.update(((s.doc_id, s.model_name, s.model_version), s) for s in scored)

    def write_alerts(self, alerts: Sequence[Alert]) -> None:
        self._write()
        self.alerts.update((a.alert_id, a) for a in alerts)

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        self._write()
        self.dead_letters.update((d.id, d) for d in letters)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        raise NotImplementedError("MemoryStore answers no SQL; read its dictionaries")

    def close(self) -> None:
        pass
