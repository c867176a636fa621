"""Embedded runner: documents → bounded in-process queue → pipeline core → store, in one process.

The same core as the Faust worker, with a queue where Kafka would be. The feeding thread blocks
when the queue is full, which is the embedded form of back-pressure.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from marketpulse.core.messages import RawDocument
from marketpulse.pipeline.core import Batch, Incoming, Pipeline

log = logging.getLogger(__name__)

_END = object()


@dataclass
class RunStats:
    documents: int = 0
    scored: int = 0
    dead_letters: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0


class EmbeddedRunner:
    def __init__(
        self, pipeline: Pipeline, batch_max: int = 256, within_s: float = 0.2,
        on_batch: Callable[[Batch, RunStats], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.batch_max = batch_max
        self.within_s = within_s
        self.on_batch = on_batch
        self._queue: queue.Queue = queue.Queue(maxsize=batch_max * 4)

    def run(self, docs: Iterable[RawDocument]) -> RunStats:
        stats = RunStats()
        feeder = threading.Thread(target=self._feed, args=(docs,), name="mp-feed", daemon=True)
        feeder.start()
        done = False
        while not done:
            messages, done = self._take()
            if messages:
                self._process(messages, stats)
        feeder.join()
        stats.finished = time.monotonic()
        return stats

    def _feed(self, docs: Iterable[RawDocument]) -> None:
        try:
            for doc in docs:
                self._queue.put(Incoming(doc.model_dump_json().encode(), topic="embedded"))
        finally:
            self._queue.put(_END)

    def _take(self) -> tuple[list[Incoming], bool]:
        """Up to batch_max messages, waiting at most within_s after the first; True once the feed ended."""
        first = self._queue.get()
        if first is _END:
            return [], True
        batch, deadline = [first], time.monotonic() + self.within_s
        while len(batch) < self.batch_max:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _END:
                return batch, True
            batch.append(item)
        return batch, False

    def _process(self, messages: list[Incoming], stats: RunStats) -> None:
        batch = self.pipeline.prepare(messages)
        self.pipeline.commit(batch)
        if batch.dead_letters:
            self.pipeline.store.write_dead_letters(batch.dead_letters)
        stats.batches += 1
        stats.documents += len(messages)
        stats.scored += len(batch.scored)
        stats.dead_letters += len(batch.dead_letters)
        if self.on_batch:
            self.on_batch(batch, stats)
