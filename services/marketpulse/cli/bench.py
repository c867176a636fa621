"""`marketpulse bench ...`: benchmark commands that print figures (never tests)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)


@app.command("model")
def model(
    headlines: Path = typer.Option(None, help="CSV with a `title` column; default: the FinViz headlines in shared datasets"),
    n: int = typer.Option(2000, help="how many distinct headlines"),
    batch_size: int = typer.Option(32, help="texts per call, the same for both systems"),
    threads: int = typer.Option(0, envvar="MARKETPULSE_MODEL_INTRA_OP_THREADS", help="CPU threads; 0 = all usable cores"),
    model_dir: Path = typer.Option(None, "--model", envvar="MARKETPULSE_MODEL_DIR", help="model folder"),
    json_out: Path = typer.Option(None, "--json", help="also write the figures here"),
) -> None:
    """Texts/s and batch latency: Hugging Face pipeline (PyTorch) vs our ONNX engine, same headlines."""
    import json

    from marketpulse.core.paths import shared_datasets_dir
    from marketpulse.inference.bench import FINVIZ, load_headlines, run_bench

    texts = load_headlines(headlines or shared_datasets_dir() / FINVIZ, n)
    report = run_bench(texts, model_dir, batch_size, threads)
    typer.echo(f"{len(texts)} headlines, batch {batch_size}, {report['threads']} threads")
    for r in report["results"]:
        typer.echo(f"{r['system']:<22} {r['device']:<22} {r['texts_per_s']:>8.1f} texts/s  "
                   f"p50 {r['p50_batch_ms']:>7.1f} ms  p99 {r['p99_batch_ms']:>7.1f} ms")
    typer.echo(f"speed-up on CPU: {report['cpu_speedup']:.2f}x")
    if json_out:
        json_out.write_text(json.dumps(report, indent=1) + "\n")


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
               f"p50 {f.latency_p50_s * 1000:.0f} ms, p99 {f.latency_p99_s * 1000:.0f} ms (target p99 <= 2000, goal 1000)")
