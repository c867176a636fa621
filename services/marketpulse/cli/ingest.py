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
                                                "(env MARKETPULSE_REPLAY_SPEED)")] = None,
    limit: Annotated[int | None, typer.Option(help="replay only the first N documents")] = None,
    link: Annotated[bool, typer.Option("--link/--no-link", help="add entities found by the linker "
                                       "after the file's tickers")] = False,
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
                        limit=limit, flush_every=settings.flush_every,
                        linker=_linker_and_dedup(True)[1] if link else None)
    finally:
        sink.close()
    typer.echo(
        f"{report.rows} rows -> {report.documents} documents ({report.merged} rows merged into earlier "
        f"documents), {sum(report.dead_letters.values())} dead letters {report.dead_letters or ''} "
        f"in {report.seconds:.1f}s"
    )


def _sink(dry_run: bool, source: str):
    from marketpulse.core.settings import KafkaSettings
    from marketpulse.ingest.producer import KafkaDocumentSink
    from marketpulse.ingest.sink import MemorySink

    return MemorySink() if dry_run else KafkaDocumentSink(KafkaSettings(), source=source)


def _linker_and_dedup(link: bool | None):
    from marketpulse.ingest.dedup import NearDuplicateFilter
    from marketpulse.ingest.documents import default_linker
    from marketpulse.ingest.settings import IngestSettings

    settings = IngestSettings()
    use_linker = settings.link_entities if link is None else link
    linker = default_linker(settings.entity_min_confidence) if use_linker else None
    return settings, linker, NearDuplicateFilter(settings.dedup_window_s, settings.dedup_max_items)


def _report(report, sink) -> None:
    typer.echo(f"{report.documents} documents, {report.duplicates} near-duplicates suppressed, "
               f"dead letters {report.dead_letters or 'none'}")
    if hasattr(sink, "documents"):
        for doc in sink.documents[:20]:
            tickers = ",".join(e.ticker for e in doc.entities) or "-"
            typer.echo(f"  {doc.published_at:%Y-%m-%d %H:%M} [{tickers}] {(doc.title or doc.text)[:100]}")


def _serve(source, sink, interval_s: float, once: bool, dedup) -> None:
    import signal
    import threading

    from marketpulse.ingest.source import run_forever

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        report = run_forever(source, sink, interval_s, stop, dedup=dedup, once=once)
    finally:
        source.close()
        sink.close()
    _report(report, sink)


LinkOpt = Annotated[bool | None, typer.Option("--link/--no-link", help="run the entity linker "
                                              "(env MARKETPULSE_INGEST_LINK_ENTITIES)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="print documents instead of producing to Kafka")]


@app.command("rss")
def rss_command(
    feeds: Annotated[list[str], typer.Argument(help="feed URLs or local XML files")],
    interval: Annotated[float | None, typer.Option(help="seconds between polls "
                                                   "(env MARKETPULSE_INGEST_POLL_INTERVAL_S)")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="poll state directory "
                                                   "(env MARKETPULSE_INGEST_STATE_DIR)")] = None,
    once: Annotated[bool, typer.Option("--once", help="poll once and exit")] = False,
    link: LinkOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Poll RSS/Atom feeds (conditional GET, state kept across restarts) into Kafka until stopped."""
    from marketpulse.ingest.rss import FeedState, RssSource, state_file

    settings, linker, dedup = _linker_and_dedup(link)
    path = state_file(state_dir or settings.state_dir, feeds)
    source = RssSource(feeds, FeedState(path, settings.seen_ids_per_feed), linker=linker,
                       user_agent=settings.user_agent, timeout_s=settings.http_timeout_s)
    _serve(source, _sink(dry_run, "rss"), interval or settings.poll_interval_s, once, dedup)


@app.command("social")
def social_command(
    location: Annotated[str, typer.Argument(help="file (.json, .jsonl, .csv), - for stdin, or an http(s) URL")],
    platform: Annotated[str | None, typer.Option(help="stocktwits or reddit; default: detect per record")] = None,
    interval: Annotated[float | None, typer.Option(help="with a URL: seconds between polls "
                                                   "(env MARKETPULSE_INGEST_POLL_INTERVAL_S)")] = None,
    link: LinkOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """StockTwits messages or Reddit posts/comments into Kafka (a URL is polled until stopped)."""
    from marketpulse.ingest.social import SocialSource

    if platform not in (None, "stocktwits", "reddit"):
        raise typer.BadParameter("platform is stocktwits or reddit")
    settings, linker, _ = _linker_and_dedup(link)
    once = not location.startswith(("http://", "https://"))
    source = SocialSource(location, platform, linker)
    # No near-duplicate filter for posts: many users writing "$TSLA to the moon" is signal, not a
    # re-delivery; repeated message ids are dropped by the source itself.
    _serve(source, _sink(dry_run, source.name), interval or settings.poll_interval_s, once, None)


@app.command("http")
def http_command(
    host: Annotated[str | None, typer.Option(help="listen address (env MARKETPULSE_HTTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="listen port (env MARKETPULSE_HTTP_PORT)")] = None,
    link: LinkOpt = None,
) -> None:
    """Serve POST /ingest (token from MARKETPULSE_HTTP_TOKEN) and produce what it accepts to Kafka."""
    from aiohttp import web

    from marketpulse.ingest.push import PushServer
    from marketpulse.ingest.settings import HttpPushSettings

    settings = HttpPushSettings()
    if not settings.token.get_secret_value():
        raise typer.BadParameter("set MARKETPULSE_HTTP_TOKEN: the push endpoint refuses every request without one")
    _, linker, dedup = _linker_and_dedup(link)
    sink = _sink(False, "push")
    server = PushServer(settings, sink, linker=linker, dedup=dedup)
    try:
        web.run_app(server.app(), host=host or settings.host, port=port or settings.port)
    finally:
        sink.close()
