"""The Source seam: a source yields documents and dead letters; `publish` hands them to a sink.

    Source.poll()  → RawDocument | DeadLetter, one pass over what is new
    publish(...)   → near-duplicates suppressed, documents sent, dead letters sent, counts kept
    run_forever()  → poll, publish, flush, wait `interval_s`, until the stop event is set
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from marketpulse.core.errors import MarketpulseError
from marketpulse.core.messages import DeadLetter, RawDocument
from marketpulse.ingest.dedup import NearDuplicateFilter
from marketpulse.ingest.metrics import INGEST_ITEMS
from marketpulse.ingest.sink import DocumentSink

log = logging.getLogger(__name__)


class Source(ABC):
    """One kind of input. `name` is a metrics label: the kind (rss, stocktwits), not a URL."""

    name: str = "source"

    @abstractmethod
    def poll(self) -> Iterator[RawDocument | DeadLetter]:
        """Everything new since the last poll. Must not raise on bad items: yield DeadLetters."""

    def commit(self) -> None:  # noqa: B027 - optional hook: stateless sources keep nothing
        """Everything yielded so far was delivered: persist what was seen (default: nothing to keep)."""

    def rollback(self) -> None:  # noqa: B027 - optional hook
        """Delivery of the last pass failed: forget it was seen, so the next poll emits it again."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


@dataclass
class PublishReport:
    documents: int = 0
    duplicates: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)

    def add(self, other: PublishReport) -> None:
        self.documents += other.documents
        self.duplicates += other.duplicates
        for reason, n in other.dead_letters.items():
            self.dead_letters[reason] = self.dead_letters.get(reason, 0) + n


def publish(items: Iterable[RawDocument | DeadLetter], sink: DocumentSink, source: str,
            dedup: NearDuplicateFilter | None = None) -> PublishReport:
    report = PublishReport()
    for item in items:
        if isinstance(item, DeadLetter):
            sink.send_dead_letter(item)
            report.dead_letters[item.reason.value] = report.dead_letters.get(item.reason.value, 0) + 1
            INGEST_ITEMS.labels(source, "dead_letter").inc()
        elif dedup is not None and dedup.seen(item):
            report.duplicates += 1
            INGEST_ITEMS.labels(source, "duplicate").inc()
        else:
            sink.send(item)
            report.documents += 1
            INGEST_ITEMS.labels(source, "document").inc()
    return report


def run_forever(source: Source, sink: DocumentSink, interval_s: float, stop: threading.Event,
                dedup: NearDuplicateFilter | None = None, once: bool = False) -> PublishReport:
    """Poll until `stop` is set (or once). Flushes after every pass, so a pass is delivered before
    the source's state says it was seen."""
    total = PublishReport()
    while not stop.is_set():
        report = publish(source.poll(), sink, source.name, dedup)
        try:
            sink.flush()
        except MarketpulseError as exc:  # broker down: keep serving, the next pass re-sends
            log.error("%s: delivery failed, will retry next poll: %s", source.name, exc)
            source.rollback()
        else:
            source.commit()  # state says "seen" only after the flush succeeded
            total.add(report)
        log.info("%s: %d documents, %d duplicates, dead letters %s", source.name, report.documents,
                 report.duplicates, report.dead_letters or "none")
        if once:
            break
        stop.wait(interval_s)
    return total
