"""Faust agents: raw documents → pipeline → ClickHouse (+ scored topic); dead letters → table.

Offsets advance only after the store accepted the batch: events are taken with `noack_take` and
acked by hand after the write. (Faust's plain `take` acks the buffered events when the generator
resumes or closes, which would commit a batch that a SIGTERM interrupted before it was written.)
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import faust

from marketpulse.core.messages import DeadLetter, DeadLetterReason
from marketpulse.core.metrics import CONSUMER_LAG, DOCUMENTS_CONSUMED
from marketpulse.core.settings import KafkaSettings, WorkerSettings
from marketpulse.pipeline.core import Batch, Incoming, Pipeline
from marketpulse.pipeline.retry import until_stored
from marketpulse.store.base import Store
from marketpulse.stream.app import bytes_topic, raw_topic

log = logging.getLogger(__name__)


def _incoming(event: faust.EventT) -> Incoming:
    message = event.message
    DOCUMENTS_CONSUMED.labels(message.topic).inc()
    return Incoming(payload=event.value, topic=message.topic, partition=message.partition, offset=message.offset)


def register_agents(
    app: faust.App, pipeline: Pipeline, store: Store, kafka: KafkaSettings, worker: WorkerSettings
) -> None:
    # One thread for CPU work (inference releases the GIL) and one for blocking store writes, so
    # the event loop stays free to heartbeat while either runs.
    cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mp-infer")
    io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mp-store")
    scored_topic = bytes_topic(app, kafka.topic_scored)
    dead_letter_topic = bytes_topic(app, kafka.topic_dead_letter)

    def run_io(fn):
        return asyncio.get_running_loop().run_in_executor(io, fn)

    async def publish(batch: Batch) -> None:
        pending = [await dead_letter_topic.send(key=d.id.encode(), value=d.model_dump_json().encode())
                   for d in batch.dead_letters]
        pending += [await scored_topic.send(key=(s.entities[0] if s.entities else s.source).encode(),
                                            value=s.model_dump_json().encode()) for s in batch.scored]
        await asyncio.gather(*pending)

    async def finish(batch: Batch, stream: faust.StreamT, events: list) -> None:
        """Store, publish, then ack: offsets move only once the batch is safely written."""
        await until_stored(lambda: pipeline.commit(batch), worker.store_retry_initial_s,
                           worker.store_retry_max_s, run=run_io)
        await publish(batch)
        for event in events:
            await stream.ack(event)

    @app.agent(raw_topic(app, kafka), name="documents")
    async def documents(stream: faust.StreamT) -> None:
        # Two batches in flight: batch N is written and published while batch N+1 is classified.
        # Finishing stays in order (N is awaited before N+1 starts), so acks stay in order too.
        finishing: asyncio.Future | None = None
        async for events in stream.noack_take(worker.batch_max, within=worker.batch_within_s):
            messages = [_incoming(e) for e in events]
            batch = await asyncio.get_running_loop().run_in_executor(cpu, pipeline.prepare, messages)
            if finishing is not None:
                await finishing
            finishing = asyncio.ensure_future(finish(batch, stream, list(events)))

    @app.on_partitions_assigned.connect
    async def log_assignment(app: faust.App, assigned, **_: object) -> None:
        mine = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned if tp.topic in kafka.raw_topics)
        log.info("assigned raw partitions: %s", ", ".join(mine) or "none")

    @app.timer(interval=5.0)
    async def report_consumer_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is None:  # not fetched from yet
                continue
            committed = consumer._committed_offset.get(tp)  # Faust keeps it; no public accessor
            behind = end - (committed + 1 if committed is not None else 0)
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, behind))

    @app.agent(bytes_topic(app, kafka.topic_dead_letter), name="dead-letters")
    async def dead_letters(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(worker.batch_max, within=worker.batch_within_s):
            letters = [_decode_dead_letter(e) for e in events]
            await until_stored(lambda ls=letters: store.write_dead_letters(ls), worker.store_retry_initial_s,
                               worker.store_retry_max_s, run=run_io)
            for event in events:
                await stream.ack(event)


def _decode_dead_letter(event: faust.EventT) -> DeadLetter:
    """A dead letter from the topic; one that is itself unreadable is archived as one, not dropped."""
    try:
        return DeadLetter.model_validate(json.loads(event.value))
    except (ValueError, TypeError) as exc:
        m = event.message
        return DeadLetter.build(stage="decode", reason=DeadLetterReason.NOT_JSON,
                                detail=f"unreadable dead letter: {exc}", payload=event.value or b"",
                                topic=m.topic, partition=m.partition, offset=m.offset)
