"""The seam between sources and the transport: where raw documents and dead letters go."""

from __future__ import annotations

from typing import Protocol

from marketpulse.core.messages import DeadLetter, RawDocument


class DocumentSink(Protocol):
    def send(self, doc: RawDocument) -> None:
        """Queue one valid document for delivery (may batch)."""

    def send_dead_letter(self, letter: DeadLetter) -> None:
        """Queue one record that was set aside, with its reason."""

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until everything queued was delivered; raise if any delivery failed."""

    def close(self) -> None: ...


class MemorySink:
    """In-memory DocumentSink for unit tests: keeps what it was given, in order."""

    def __init__(self) -> None:
        self.documents: list[RawDocument] = []
        self.dead_letters: list[DeadLetter] = []
        self.flushes = 0

    def send(self, doc: RawDocument) -> None:
        self.documents.append(doc)

    def send_dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)

    def flush(self, timeout_s: float | None = None) -> None:
        self.flushes += 1

    def close(self) -> None:
        pass
