"""The demo: bundled StockNet tweets → embedded runner (real model, chDB) → live view → summary + plot."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from marketpulse.alerts.runtime import AlertRuntime
from marketpulse.alerts.settings import AlertSettings
from marketpulse.demo.movers import MoversTracker
from marketpulse.demo.report import plot_sentiment, summary_tables
from marketpulse.entities.sectors import sector_lookup
from marketpulse.inference.base import Classifier
from marketpulse.ingest.replay import PRESETS, ReplayReport, load_documents
from marketpulse.pipeline.core import Batch, Pipeline
from marketpulse.pipeline.embedded import EmbeddedRunner, RunStats
from marketpulse.store.embedded import ChdbStore

DEMO_STREAM = Path(__file__).parent / "data" / "stocknet_2014-04.jsonl.gz"


@dataclass
class DemoResult:
    stats: RunStats
    documents_stored: int
    plot: Path
    data_dir: Path


class LiveView:
    """What a person watches while the stream runs: throughput, stream time, top movers."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.movers = MoversTracker()
        self.alerts: list = []
        self._last_render = 0.0

    def update(self, batch: Batch, alerts: list, stats: RunStats, live: Live) -> None:
        self.movers.add(batch.scored)
        self.alerts.extend(a for a in alerts if a.state == "open")
        now = time.monotonic()
        if now - self._last_render > 0.25 or stats.documents >= self.total:
            live.update(self.render(stats))
            self._last_render = now

    def render(self, stats: RunStats) -> Group:
        head = Table.grid(padding=(0, 2))
        stream_time = self.movers.stream_time.strftime("%Y-%m-%d %H:%M UTC") if self.movers.stream_time else "-"
        head.add_row("documents", f"{stats.documents:,} / {self.total:,}", "docs/s", f"{stats.docs_per_s:,.0f}")
        head.add_row("stream time", stream_time, "dead letters", str(stats.dead_letters))
        head.add_row("alerts opened", str(len({a.alert_id for a in self.alerts})), "", "")
        movers = Table(title="top movers (last 24h of stream time vs. before)", title_justify="left")
        for column in ("ticker", "24h mean", "before", "shift", "docs 24h"):
            movers.add_column(column, justify="right")
        for m in self.movers.top(8):
            colour = "red" if m.shift < 0 else "green"
            movers.add_row(m.ticker, f"{m.recent_mean:+.2f}", f"{m.baseline_mean:+.2f}",
                           f"[{colour}]{m.shift:+.2f}[/]", str(m.recent_docs))
        recent = Table(title="latest alerts", title_justify="left")
        for column in ("stream time", "entity", "rule", "severity", "summary"):
            recent.add_column(column)
        for a in self.alerts[-5:]:
            recent.add_row(f"{a.event_time:%m-%d %H:%M}", a.entity, a.rule, a.severity, a.summary[:70])
        return Group(head, movers, recent) if self.alerts else Group(head, movers)


def run_demo(classifier: Classifier, data_dir: Path, console: Console, stream: Path = DEMO_STREAM) -> DemoResult:
    store = ChdbStore(data_dir / "chdb")
    store.migrate()
    report = ReplayReport()
    letters = []
    docs = load_documents(stream, PRESETS["stocknet"], report, letters.append)
    store.write_dead_letters(letters)
    console.print(f"[bold]marketpulse demo[/]: {len(docs):,} real StockNet tweets "
                  f"({docs[0].published_at:%Y-%m-%d} .. {docs[-1].published_at:%Y-%m-%d}), "
                  f"model {classifier.name} {classifier.version}, store chDB at {data_dir / 'chdb'}")
    view = LiveView(len(docs))
    # Alert state lives beside the data: a second demo run restores it and repeats no alert.
    alerts = AlertRuntime.start(store, AlertSettings(snapshot_path=data_dir / "alerts-state.json"),
                                sector_of=sector_lookup())
    with Live(view.render(RunStats()), console=console, refresh_per_second=4) as live:
        runner = EmbeddedRunner(Pipeline(store, classifier), batch_max=128, within_s=0.05,
                                on_batch=lambda batch, stats: view.update(batch, alerts.process(batch.scored),
                                                                          stats, live))
        try:
            stats = runner.run(docs)
        finally:
            alerts.close()
        live.update(view.render(stats))
    for table in summary_tables(store, stats):
        console.print(table)
    plot = plot_sentiment(store, data_dir / "sentiment.png")
    stored = store.query("SELECT count() FROM documents FINAL")[0][0]
    store.close()
    console.print(f"plot: {plot}\ndata: {data_dir / 'chdb'} (chDB; the same tables as the ClickHouse server)")
    return DemoResult(stats, stored, plot, data_dir)
