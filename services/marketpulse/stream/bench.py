"""`marketpulse bench pipeline`: the distributed path on this machine, measured end to end.

A real `marketpulse worker` (subprocess, shipped model) against the real Kafka broker and ClickHouse
server, all sharing the machine. Phase 1 offers real headlines as fast as the producer can and
measures sustained documents/s until the last scored record comes back. Phase 2 offers a fixed load
(100 docs/s) and measures ingest → stored latency per document: from `ingested_at`, stamped just
before the send, to the scored record arriving on the scored topic, which the worker publishes only
after the ClickHouse write succeeded (so it is an upper bound on ingest → stored).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kafka import KafkaConsumer
from tqdm import tqdm

from marketpulse.core.messages import RawDocument
from marketpulse.core.settings import ClickHouseSettings, DevServicesSettings, KafkaSettings, WorkerSettings, to_env
from marketpulse.core.timeutil import utcnow
from marketpulse.devservices import delete_topics, ensure_services, ensure_topics
from marketpulse.ingest.corpora import real_headlines
from marketpulse.ingest.producer import KafkaDocumentSink
from marketpulse.store.clickhouse import ClickHouseStore


@dataclass
class PipelineFigures:
    sustained_docs: int
    sustained_seconds: float
    latency_docs: int
    latency_p50_s: float
    latency_p99_s: float
    offered_rate: float

    @property
    def sustained_rate(self) -> float:
        return self.sustained_docs / self.sustained_seconds


class ScoredListener:
    """Consumes the scored topic in a thread; records when each document came back."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.arrived: dict[str, tuple[float, datetime]] = {}  # doc id -> (monotonic, ingested_at)
        self._consumer = KafkaConsumer(kafka.topic_scored, bootstrap_servers=kafka.bootstrap_servers,
                                       group_id=f"bench-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                for record in records:
                    scored = json.loads(record.value)
                    ingested = datetime.fromisoformat(scored["ingested_at"].replace("Z", "+00:00"))
                    self.arrived.setdefault(scored["doc_id"], (now, ingested))

    def wait_for(self, ids: set[str], timeout_s: float, desc: str) -> float:
        """Block until every id arrived; returns the monotonic time the last one did."""
        deadline = time.monotonic() + timeout_s
        with tqdm(total=len(ids), desc=desc, unit="doc") as bar:
            seen = 0
            while True:
                done = sum(1 for i in ids if i in self.arrived)
                bar.update(done - seen)
                seen = done
                if done == len(ids):
                    return max(self.arrived[i][0] for i in ids)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(ids) - done} of {len(ids)} documents never came back")
                time.sleep(0.2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def _restamp(doc: RawDocument, suffix: str = "") -> RawDocument:
    return doc.model_copy(update={"id": doc.id + suffix, "ingested_at": utcnow()})


def run_bench(
    docs: int = 10_000, rate: float = 100.0, seconds: float = 60.0, log_dir: Path = Path(".marketpulse/bench"),
    batch_max: int = 256, within_s: float = 0.05,
) -> PipelineFigures:
    info = ensure_services(DevServicesSettings())
    run = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(bootstrap_servers=info.bootstrap_servers, topic_news=f"bench{run}.raw.news",
                          topic_social=f"bench{run}.raw.social", topic_scored=f"bench{run}.scored",
                          topic_dead_letter=f"bench{run}.dead-letter", topic_alerts=f"bench{run}.alerts")
    clickhouse = ClickHouseSettings(host=info.clickhouse_host, port=info.clickhouse_port, database=f"bench_{run}")
    worker = WorkerSettings(app_id=f"bench-{run}", batch_max=batch_max, batch_within_s=within_s,
                            data_dir=log_dir / f"faust-{run}")
    ensure_topics(kafka.bootstrap_servers, kafka.all_topics, kafka.partitions)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"worker-{run}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPULSE_")} | to_env(kafka, clickhouse, worker)
    corpus = real_headlines(docs)
    print(f"Kafka {info.kafka_version}, ClickHouse {info.clickhouse_version}; worker log {log_path}")
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "marketpulse", "worker"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    listener = ScoredListener(kafka)
    sink = KafkaDocumentSink(kafka, source="bench")
    try:
        _wait_for_assignment(log_path, process)
        # Phase 1: sustained throughput.
        started = time.monotonic()
        for doc in corpus:
            sink.send(_restamp(doc))
        sink.flush(120)
        finished = listener.wait_for({d.id for d in corpus}, 900, "sustained")
        # Phase 2: fixed offered load, latency per document.
        count = int(rate * seconds)
        sent = []
        t0 = time.monotonic()
        for i in tqdm(range(count), desc=f"offering {rate:.0f} docs/s", unit="doc"):
            due = t0 + i / rate
            if (ahead := due - time.monotonic()) > 0:
                time.sleep(ahead)
            doc = _restamp(corpus[i % len(corpus)], f"#lat{i}")
            sink.send(doc)
            sent.append(doc.id)
        sink.flush(60)
        listener.wait_for(set(sent), 300, "latency")
        latencies = sorted(_latency(listener, i) for i in sent)
        return PipelineFigures(len(corpus), finished - started, len(latencies), statistics.median(latencies),
                               latencies[int(0.99 * (len(latencies) - 1))], rate)
    finally:
        sink.close()
        listener.close()
        process.terminate()
        process.wait(60)
        _clean_up(kafka, clickhouse)


def _clean_up(kafka: KafkaSettings, clickhouse: ClickHouseSettings) -> None:
    """Remove the run's topics and database; a failure here must not hide the figures."""
    try:
        delete_topics(kafka.bootstrap_servers, kafka.all_topics)
        ClickHouseStore(clickhouse).drop_database()
    except Exception as exc:  # noqa: BLE001 - reported, and the next run uses fresh names anyway
        print(f"warning: clean-up of bench topics/database failed: {exc}", file=sys.stderr)


def _latency(listener: ScoredListener, doc_id: str) -> float:
    arrived_monotonic, ingested_at = listener.arrived[doc_id]
    # Convert the arrival to wall-clock UTC through the current offset between the two clocks.
    arrived_wall = utcnow().timestamp() - (time.monotonic() - arrived_monotonic)
    return arrived_wall - ingested_at.timestamp()


def _wait_for_assignment(log_path: Path, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited ({process.returncode}); see {log_path}")
        if "assigned raw partitions" in log_path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the worker did not join the group in {timeout_s:.0f}s; see {log_path}")
