"""`marketpulse alerts`: one alert service consuming the scored topic (its own consumer group).

Alerts run beside the workers, not inside them: sector signals and the catch-up after a restart
need every ticker in one engine, while the workers scale out by partition.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import faust
from pydantic import ValidationError

from marketpulse.alerts.runtime import AlertRuntime
from marketpulse.alerts.settings import AlertSettings
from marketpulse.alerts.sinks import kafka_publisher
from marketpulse.core.messages import DeadLetter, DeadLetterReason, ScoredDocument
from marketpulse.core.settings import ClickHouseSettings, KafkaSettings, WorkerSettings
from marketpulse.entities.sectors import sector_lookup
from marketpulse.pipeline.retry import until_stored
from marketpulse.store.clickhouse import ClickHouseStore
from marketpulse.stream.app import bytes_topic, create_app

log = logging.getLogger(__name__)


def build_alerts_worker(kafka: KafkaSettings, clickhouse: ClickHouseSettings, worker: WorkerSettings) -> faust.Worker:
    store = ClickHouseStore(clickhouse)
    store.migrate()
    runtime = AlertRuntime.start(
        store, AlertSettings(snapshot_path=worker.data_dir / "alerts-state.json"),
        publish=kafka_publisher(kafka.bootstrap_servers, kafka.topic_alerts), sector_of=sector_lookup(),
    )
    app = create_app(kafka, worker.model_copy(update={"app_id": f"{worker.app_id}-alerts"}))
    io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mp-alerts")
    dead_letter_topic = bytes_topic(app, kafka.topic_dead_letter)

    def run_io(fn):
        return asyncio.get_running_loop().run_in_executor(io, fn)

    @app.agent(bytes_topic(app, kafka.topic_scored), name="alerts")
    async def alerts(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(worker.batch_max, within=worker.batch_within_s):
            scored, letters = [], []
            for event in events:
                try:
                    scored.append(ScoredDocument.model_validate_json(event.value))
                except ValidationError as exc:
                    m = event.message
                    letters.append(DeadLetter.build(stage="decode", reason=DeadLetterReason.INVALID_VALUE,
                                                    detail=f"unreadable scored document: {exc}",
                                                    payload=event.value or b"", topic=m.topic,
                                                    partition=m.partition, offset=m.offset))
            await until_stored(lambda s=scored: runtime.process(s), worker.store_retry_initial_s,
                               worker.store_retry_max_s, run=run_io)
            await asyncio.gather(*[await dead_letter_topic.send(key=d.id.encode(), value=d.model_dump_json().encode())
                                   for d in letters])
            for event in events:
                await stream.ack(event)

    @app.on_before_shutdown.connect
    async def close_runtime(app: faust.App, **_: object) -> None:
        runtime.close()

    return faust.Worker(app, loglevel=worker.log_level.upper(), quiet=True, redirect_stdouts=False)
