"""Apache Kafka, single node in KRaft mode on 127.0.0.1, from jars fetched off Maven Central.

Layout under <state>/kafka/: libs-<kafka>-<scala>/ (jars, kept between runs), data/ (KRaft log dirs,
formatted once), logs/server.log, server.properties, log4j.properties, kafka.pid, broker.json.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from marketpulse.core.errors import ServiceError
from marketpulse.core.settings import DevServicesSettings, KafkaSettings
from marketpulse.devservices import process
from marketpulse.devservices.config import render, state_dir, templates_dir, write_text_if_changed

# Record-batch framing and headers on top of the largest payload we accept; the broker must let an
# oversized-but-sane document through so that our validation, not the broker, dead-letters it.
MESSAGE_MARGIN_BYTES = 1024 * 1024
_VERSION_RE = re.compile(r"Kafka version: (\S+)")


@dataclass(frozen=True)
class KafkaLayout:
    root: Path
    libs: Path
    data: Path
    logs: Path
    server_properties: Path
    log4j_properties: Path
    pid_file: Path
    meta_file: Path

    @property
    def log_file(self) -> Path:
        return self.logs / "server.log"

    @property
    def stdout_file(self) -> Path:
        # JVM crashes and early errors (before log4j is up) land here.
        return self.logs / "kafka.out"


@dataclass(frozen=True)
class KafkaStatus:
    pid: int | None
    bootstrap: str
    version: str | None

    @property
    def running(self) -> bool:
        return self.pid is not None


def layout(dev: DevServicesSettings) -> KafkaLayout:
    root = state_dir(dev) / "kafka"
    return KafkaLayout(
        root=root,
        libs=root / f"libs-{dev.kafka_version}-{dev.scala_version}",
        data=root / "data",
        logs=root / "logs",
        server_properties=root / "server.properties",
        log4j_properties=root / "log4j.properties",
        pid_file=root / "kafka.pid",
        meta_file=root / "broker.json",
    )


def bootstrap(dev: DevServicesSettings) -> str:
    return f"127.0.0.1:{dev.kafka_port}"


def broker_message_max_bytes(kafka: KafkaSettings) -> int:
    return kafka.max_message_bytes + MESSAGE_MARGIN_BYTES


def render_server_properties(dev: DevServicesSettings, kafka: KafkaSettings, lay: KafkaLayout) -> str:
    return render(
        "kafka/server.properties.tmpl",
        kafka_port=dev.kafka_port,
        controller_port=dev.kafka_controller_port,
        log_dirs=lay.data,
        message_max_bytes=broker_message_max_bytes(kafka),
    )


def render_log4j(lay: KafkaLayout) -> str:
    return render("kafka/log4j.properties.tmpl", log_file=lay.log_file)


def _need(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ServiceError(f"`{tool}` not found on PATH; {why}")
    return path


def ensure_jars(dev: DevServicesSettings, lay: KafkaLayout) -> bool:
    """Fetch the broker's jars once (Maven also keeps them in ~/.m2). True if they were fetched now."""
    done = lay.libs / ".complete"
    if done.is_file():
        return False
    mvn = _need("mvn", "Maven fetches the Kafka broker from Maven Central (apt-get install maven)")
    staging = lay.libs.with_name(lay.libs.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    argv = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(templates_dir() / "pom.xml"),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
        f"-Dkafka.version={dev.kafka_version}",
        f"-Dscala.version={dev.scala_version}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"mvn could not fetch Kafka {dev.kafka_version}:\n{result.stdout[-3000:]}")
    # Rename last: an interrupted download never looks complete.
    shutil.rmtree(lay.libs, ignore_errors=True)
    staging.rename(lay.libs)
    done.write_text(dev.kafka_version + "\n")
    return True


def java_argv(dev: DevServicesSettings, lay: KafkaLayout, main: str, *args: str) -> list[str]:
    java = _need("java", "the Kafka broker needs a Java 17 runtime (apt-get install openjdk-17-jre-headless)")
    return [
        java,
        *shlex.split(dev.kafka_heap),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{lay.log4j_properties}",
        f"-Dkafka.logs.dir={lay.logs}",
        "-cp",
        f"{lay.libs}/*",
        main,
        *args,
    ]


def new_cluster_id(draw: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A Kafka Uuid string (url-safe base64 of 16 random bytes, unpadded), as `random-uuid` prints.

    One that starts with "-" is drawn again, as Kafka's own `Uuid.randomUuid` does: the storage
    tool's argument parser reads `-t -Xy...` as an option and refuses to format, so about one start
    in 64 failed before this."""
    while True:
        cluster_id = base64.urlsafe_b64encode(draw()).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def ensure_formatted(dev: DevServicesSettings, lay: KafkaLayout) -> bool:
    """Format the KRaft storage once; later starts reuse topics and offsets. True if formatted now."""
    if (lay.data / "meta.properties").is_file():
        return False
    argv = java_argv(
        dev,
        lay,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        new_cluster_id(),
        "-c",
        str(lay.server_properties),
        "--ignore-formatted",
    )
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")
    return True


def running_pid(lay: KafkaLayout) -> int | None:
    # Our own server.properties path in the command line tells our broker from any other JVM.
    return process.running_pid(lay.pid_file, str(lay.server_properties))


def metadata_ready(bootstrap_servers: str) -> bool:
    """The broker answers a metadata request and lists itself (what every client needs first)."""
    if not process.port_open(*bootstrap_servers.split(":")):
        return False
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        # kafka-python 3.x: bootstrap_timeout_ms bounds the first connect (api_version_auto_timeout_ms is gone).
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=5000, bootstrap_timeout_ms=3000
        )
    except KafkaError:
        return False
    try:
        consumer.topics()
        return bool(consumer._client.cluster.brokers())
    except KafkaError:
        return False
    finally:
        consumer.close()


def version_from_log(lay: KafkaLayout) -> str | None:
    """The version the running broker announced itself (AppInfoParser logs it on start)."""
    found = _VERSION_RE.findall(process.tail(lay.log_file, lines=100_000))
    return found[-1] if found else None


def start(dev: DevServicesSettings, kafka: KafkaSettings, say=print) -> int:
    """Start the broker (fetching and formatting first when needed) and wait until clients can use it."""
    lay = layout(dev)
    for folder in (lay.root, lay.data, lay.logs):
        folder.mkdir(parents=True, exist_ok=True)
    if not (lay.libs / ".complete").is_file():
        say(f"kafka: fetching Apache Kafka {dev.kafka_version} jars from Maven Central into {lay.libs}")
    ensure_jars(dev, lay)
    write_text_if_changed(lay.server_properties, render_server_properties(dev, kafka, lay))
    write_text_if_changed(lay.log4j_properties, render_log4j(lay))
    ensure_formatted(dev, lay)
    if process.port_open("127.0.0.1", dev.kafka_port):
        raise ServiceError(f"port {dev.kafka_port} is taken by a process that is not our broker")
    argv = java_argv(dev, lay, "kafka.Kafka", str(lay.server_properties))
    pid = process.spawn_detached(argv, lay.stdout_file, cwd=lay.root)
    process.write_pid(lay.pid_file, pid)
    _wait(dev, lay, pid)
    lay.meta_file.write_text(json.dumps({"pid": pid, "version": version_from_log(lay) or dev.kafka_version}))
    return pid


def _wait(dev: DevServicesSettings, lay: KafkaLayout, pid: int) -> None:
    try:
        process.wait_ready(
            "Kafka",
            lambda: metadata_ready(bootstrap(dev)),
            dev.start_timeout_s,
            alive=lambda: process.pid_alive(pid),
            log_file=lay.log_file,
        )
    except ServiceError as exc:
        # Leave nothing half-started behind; the JVM's own output often says more than log4j.
        process.stop_pid(pid, timeout_s=10)
        lay.pid_file.unlink(missing_ok=True)
        raise ServiceError(f"{exc}\n--- {lay.stdout_file}:\n{process.tail(lay.stdout_file, 15)}") from None


def status(dev: DevServicesSettings) -> KafkaStatus:
    lay = layout(dev)
    pid = running_pid(lay)
    return KafkaStatus(pid=pid, bootstrap=bootstrap(dev), version=_recorded_version(lay, pid))


def _recorded_version(lay: KafkaLayout, pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        meta = json.loads(lay.meta_file.read_text())
    except (OSError, ValueError):
        meta = {}
    return meta.get("version") if meta.get("pid") == pid else version_from_log(lay)


def stop(dev: DevServicesSettings, timeout_s: float = 60.0) -> bool:
    """Stop the broker if it runs (a clean shutdown spares a log recovery next start). True if stopped."""
    lay = layout(dev)
    pid = running_pid(lay)
    if pid is None:
        return False
    process.stop_pid(pid, timeout_s=timeout_s)
    lay.pid_file.unlink(missing_ok=True)
    return True
