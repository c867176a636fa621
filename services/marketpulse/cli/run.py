"""Long-running and one-shot product commands: worker, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("demo")(demo)
    app.command("alerts")(alerts)


def alerts() -> None:
    """Run the alert service: scored topic → detectors → alerts topic, ClickHouse alerts, webhooks."""
    import logging

    from marketpulse.core.settings import ClickHouseSettings, KafkaSettings, WorkerSettings
    from marketpulse.devservices.topics import ensure_topics
    from marketpulse.stream.alerts import build_alerts_worker

    settings, kafka = WorkerSettings(), KafkaSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ensure_topics(kafka.bootstrap_servers, kafka.all_topics, kafka.partitions, kafka.replication_factor)
    build_alerts_worker(kafka, ClickHouseSettings(), settings).execute_from_commandline()


def demo(
    data_dir: Annotated[Path, typer.Option(help="where the embedded store (chDB) and the plot go")] = Path(
        ".marketpulse/demo"),
    model: Annotated[Path | None, typer.Option(help="model directory; default: the shipped model")] = None,
) -> None:
    """Run the whole pipeline in one process on a bundled real stream: no servers needed."""
    from rich.console import Console

    from marketpulse.demo.runner import run_demo
    from marketpulse.inference.engine import load_classifier

    classifier = load_classifier(model)
    classifier.warmup()
    run_demo(classifier, data_dir, Console())


def worker(
    model: Annotated[Path | None, typer.Option(help="model directory [env MARKETPULSE_MODEL_DIR]; "
                                                    "default: the shipped model")] = None,
    classify: Annotated[bool, typer.Option(help="score documents; --no-classify only archives them")] = True,
) -> None:
    """Run the stream worker (Faust): raw topics → pipeline → ClickHouse and the scored topic."""
    import logging

    from marketpulse.core.settings import ClickHouseSettings, KafkaSettings, ModelSettings, WorkerSettings
    from marketpulse.stream.worker import run_worker

    settings = WorkerSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    classifier = None
    if classify:
        from marketpulse.inference.engine import load_classifier

        classifier = load_classifier(model or ModelSettings().dir)
        classifier.warmup()
    run_worker(KafkaSettings(), ClickHouseSettings(), settings, classifier)
