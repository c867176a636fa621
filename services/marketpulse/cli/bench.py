"""`marketpulse bench ...`: benchmark commands that print figures (never tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)


@app.command("model")
def model(
    headlines: Annotated[
        Path | None, typer.Option(help="CSV with a `title` column; default: FinViz headlines in shared datasets")
    ] = None,
    n: Annotated[int, typer.Option(help="how many distinct headlines")] = 2000,
    batch_size: Annotated[int, typer.Option(help="texts per call, the same for both systems")] = 32,
    # Shared VMs drift by ~20% within minutes: 5 alternating rounds keep the median steady.
    rounds: Annotated[int, typer.Option(help="alternating rounds per system; the median is reported")] = 5,
    threads: Annotated[
        int, typer.Option(envvar="MARKETPULSE_MODEL_THREADS", help="CPU threads; 0 = all usable cores")
    ] = 0,
    model_dir: Annotated[
        Path | None, typer.Option("--model", envvar="MARKETPULSE_MODEL_DIR", help="model folder; default: shipped")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the figures here")] = None,
    update_metrics: Annotated[
        bool, typer.Option(help="store the figures as the `bench` section of the model's metrics.json")
    ] = False,
) -> None:
    """Texts/s and batch latency: Hugging Face pipeline (PyTorch) vs our ONNX engine, same headlines."""
    import json

    from marketpulse.core.paths import shared_datasets_dir
    from marketpulse.inference.bench import FINVIZ, load_headlines, run_bench, store_in_metrics

    texts = load_headlines(headlines or shared_datasets_dir() / FINVIZ, n)
    report = run_bench(texts, model_dir, batch_size, threads, rounds)
    m, cpu, gops = report["model"], report["host"]["cpu"], report["host"]["matmul_gops"]
    typer.echo(f"{m['name']} {m['version']}: {len(texts)} headlines, batch {batch_size}, {report['threads']} threads "
               f"(engine: {report['engine_lanes']} lanes), "
               f"median of {rounds} rounds")
    typer.echo(f"CPU: {cpu['name']}, int8 extensions: {', '.join(cpu.get('int8_extensions') or ['none'])}; "
               f"ORT matrix products: int8 {gops['int8']:.0f} GOPS, fp32 {gops['fp32']:.0f} GOPS "
               f"({gops['int8_over_fp32']:.1f}x, what int8 can buy here)")
    if report["host"]["int8_fast_kernel_saturates"]:
        typer.echo("ORT's fast int8 kernel saturates on this CPU: the engine and the int8 rate use its exact one")
    for r in report["results"]:
        typer.echo(f"{r['system']:<20} {r['device']:<21} {r['texts_per_s']:>7.1f} texts/s "
                   f"({r['texts_per_s_in_batches']:.1f} in batches of {batch_size})  "
                   f"p50 {r['p50_batch_ms']:.1f} ms  p99 {r['p99_batch_ms']:.1f} ms per batch")
    typer.echo(f"speed-up on CPU: {report['cpu_speedup']:.2f}x")
    if json_out:
        json_out.write_text(json.dumps(report, indent=1) + "\n")
    if update_metrics:
        typer.echo(f"stored in {store_in_metrics(report)}")


@app.command("pipeline")
def pipeline(
    docs: int = typer.Option(10_000, help="real headlines offered as fast as possible (sustained phase)"),
    rate: float = typer.Option(100.0, help="offered load of the latency phase, docs/s"),
    seconds: float = typer.Option(60.0, help="length of the latency phase"),
) -> None:
    """Sustained docs/s and ingest→stored p50/p99 through real Kafka + ClickHouse + `marketpulse worker`."""
    from marketpulse.stream.bench import run_bench as run_pipeline_bench

    f = run_pipeline_bench(docs=docs, rate=rate, seconds=seconds)
    typer.echo(f"sustained: {f.sustained_docs} docs in {f.sustained_seconds:.1f} s = {f.sustained_rate:.0f} docs/s "
               f"end to end (target >= 250, goal 500)")
    typer.echo(f"latency at {f.offered_rate:.0f} docs/s offered, {f.latency_docs} docs: ingest->stored "
               f"p50 {f.latency_p50_s * 1000:.0f} ms, p99 {f.latency_p99_s * 1000:.0f} ms "
               "(target p99 <= 2000, goal 1000)")


# Tuning happened on RANGES["tune"]; the figures to report come from RANGES["report"] (other
# months, other seed). Both are plain options, so any range can be checked.
_ALERT_RANGES = {"tune": ("2014-01-01", "2014-07-01", 1), "report": ("2015-01-01", "2015-07-01", 2)}


@app.command("alerts")
def alerts(
    range_: str = typer.Option("report", "--range", help="preset: tune (2014 H1, seed 1) or report (2015 H1, seed 2)"),
    start: str = typer.Option(None, help="stream start (UTC date), overrides the preset"),
    end: str = typer.Option(None, help="stream end (UTC date, exclusive), overrides the preset"),
    seed: int = typer.Option(None, help="injection seed, overrides the preset"),
    tickers: str = typer.Option(None, help="restrict the stream to these tickers, comma-separated"),
    limit: int = typer.Option(None, help="use only the first N tweets of the range"),
    inject_tickers: int = typer.Option(20, help="tickers that get injected shifts (random, by seed)"),
    shifts_per_ticker: int = typer.Option(3, help="injected shifts per chosen ticker"),
    burst_docs: int = typer.Option(20, help="documents per injected burst"),
    burst_seconds: float = typer.Option(180.0, help="length of a burst in stream seconds"),
    plot_ticker: str = typer.Option(None, help="ticker to plot; default: the first injected one"),
    dedup: bool = typer.Option(False, help="drop near-duplicate texts first (ingest does so for news, not posts)"),
    classifier: str = typer.Option(
        "model", help="model (the shipped ONNX model), checkpoint (its training checkpoint; train extra) or fake"),
    model_dir: Path = typer.Option(None, "--model", envvar="MARKETPULSE_MODEL_DIR", help="model folder"),
    tweets: Path = typer.Option(None, help="StockNet tweets JSONL; default: shared datasets"),
    headlines: Path = typer.Option(None, help="labelled headlines JSONL to inject; default: TFNS valid"),
    out: Path = typer.Option(Path(".marketpulse/bench"), help="where the JSON report and PNG plot go"),
) -> None:
    """Inject known shifts into the StockNet tweet stream, replay, print detection share, delay, false alerts."""
    from datetime import UTC, datetime

    from marketpulse.alerts.bench import BenchConfig, report_lines, run
    from marketpulse.core.paths import shared_datasets_dir

    preset_start, preset_end, preset_seed = _ALERT_RANGES[range_]
    data = shared_datasets_dir()
    cfg = BenchConfig(
        tweets=tweets or data / "twitter_stocknet_acl18/stocknet_tweets.jsonl",
        headlines=headlines or data / "twitter_financial_news_sentiment/clean/valid.jsonl",
        start=datetime.fromisoformat(start or preset_start).replace(tzinfo=UTC),
        end=datetime.fromisoformat(end or preset_end).replace(tzinfo=UTC),
        tickers=[t.strip().upper() for t in tickers.split(",")] if tickers else None, limit=limit,
        inject_tickers=inject_tickers, shifts_per_ticker=shifts_per_ticker, burst_docs=burst_docs,
        burst_seconds=burst_seconds, seed=preset_seed if seed is None else seed, plot_ticker=plot_ticker, out=out,
        dedup=dedup,
    )
    if classifier == "fake":
        from marketpulse.inference.fake import FakeClassifier

        clf = FakeClassifier()
    elif classifier == "checkpoint":
        from marketpulse.alerts.bench_checkpoint import CheckpointClassifier
        from marketpulse.inference.bundle import default_model_dir

        clf = CheckpointClassifier(model_dir or default_model_dir())
    else:
        from marketpulse.inference.engine import load_classifier

        clf = load_classifier(model_dir)
    for line in report_lines(run(cfg, clf)):
        typer.echo(line)
    typer.echo(f"report: {out / 'alerts_bench.json'}  plot: {out / 'alerts_bench.png'}")
