"""`marketpulse ingest ...`: sources that put raw documents on Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Ingest documents into Kafka.", no_args_is_help=True)


def _mapping(preset: str | None, maps: list[str], source: str | None, kind: str | None, timezone: str | None):
    from dataclasses import replace

    from marketpulse.core.messages import SourceKind
    from marketpulse.ingest.replay import PRESETS, Mapping

    columns = dict(m.split("=", 1) for m in maps)
    if preset:
        if preset not in PRESETS:
            raise typer.BadParameter(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        base = PRESETS[preset]
        return replace(
            base,
            columns={**base.columns, **columns},
            source=source or base.source,
            kind=SourceKind(kind) if kind else base.kind,
            timezone=timezone or base.timezone,
        )
    if not source:
        raise typer.BadParameter("--source is needed without --preset")
    return Mapping(source=source, kind=SourceKind(kind or "news"), columns=columns, timezone=timezone or "UTC")


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV file")],
    preset: Annotated[
        str | None, typer.Option(help="column mapping preset: finviz, benzinga, stocknet, stocktwits")
    ] = None,
    map_: Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN; fields: id text title url author "
                                            "published_at tickers language")] = [],  # noqa: B006
    source: Annotated[str | None, typer.Option(help="source name stored with each document")] = None,
    kind: Annotated[str | None, typer.Option(help="news or social")] = None,
    timezone: Annotated[str | None, typer.Option(help="time zone of naive timestamps")] = None,
    speed: Annotated[float | None, typer.Option(help="N x real time; 0 = as fast as possible "
                                                "[env MARKETPULSE_REPLAY_SPEED]")] = None,
    limit: Annotated[int | None, typer.Option(help="replay only the first N documents")] = None,
) -> None:
    """Replay a file of timestamped documents to Kafka, in time order (keyed, acks=all)."""
    from marketpulse.core.settings import KafkaSettings, ReplaySettings
    from marketpulse.ingest.producer import KafkaDocumentSink
    from marketpulse.ingest.replay import replay

    settings = ReplaySettings()
    mapping = _mapping(preset, map_, source, kind, timezone)
    sink = KafkaDocumentSink(KafkaSettings(), source=mapping.source)
    try:
        report = replay(file, mapping, sink, speed=settings.speed if speed is None else speed,
                        limit=limit, flush_every=settings.flush_every)
    finally:
        sink.close()
    typer.echo(
        f"{report.rows} rows -> {report.documents} documents ({report.merged} rows merged into earlier "
        f"documents), {sum(report.dead_letters.values())} dead letters {report.dead_letters or ''} "
        f"in {report.seconds:.1f}s"
    )
