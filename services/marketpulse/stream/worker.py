"""`marketpulse worker`: wire settings → store, classifier, pipeline, Faust app; run until SIGTERM."""

from __future__ import annotations

import logging

import faust

from marketpulse.core import metrics
from marketpulse.core.settings import ClickHouseSettings, KafkaSettings, WorkerSettings
from marketpulse.inference.base import Classifier
from marketpulse.pipeline.core import Pipeline
from marketpulse.store.clickhouse import ClickHouseStore
from marketpulse.stream.agents import register_agents
from marketpulse.stream.app import create_app

log = logging.getLogger(__name__)


def build_worker(
    kafka: KafkaSettings, clickhouse: ClickHouseSettings, worker: WorkerSettings,
    classifier: Classifier | None,
) -> faust.Worker:
    store = ClickHouseStore(clickhouse)
    store.migrate()
    pipeline = Pipeline(store, classifier)
    app = create_app(kafka, worker)
    register_agents(app, pipeline, store, kafka, worker)
    metrics.serve(worker.metrics_port)
    return faust.Worker(app, loglevel=worker.log_level.upper(), quiet=True, redirect_stdouts=False)


def run_worker(kafka: KafkaSettings, clickhouse: ClickHouseSettings, worker: WorkerSettings,
               classifier: Classifier | None) -> None:
    from marketpulse.devservices.topics import ensure_topics

    ensure_topics(kafka.bootstrap_servers, kafka.all_topics, kafka.partitions, kafka.replication_factor)
    log.info("worker %s: classifier %s", worker.app_id,
             f"{classifier.name} {classifier.version}" if classifier else "none (archive only)")
    build_worker(kafka, clickhouse, worker, classifier).execute_from_commandline()
