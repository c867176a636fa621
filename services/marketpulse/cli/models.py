"""Model commands: train, export, evaluate, classify.

Heavy imports (torch, onnxruntime) happen inside the commands so `marketpulse --help` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from marketpulse.core.errors import ModelError


def train(
    recipe: Annotated[Path | None, typer.Option(help="recipe JSON; default: models/<shipped>/recipe.json")] = None,
    out: Annotated[
        Path | None, typer.Option(help="model folder to write; default: the recipe's own folder, for a recipe.json")
    ] = None,
    datasets: Annotated[Path | None, typer.Option(envvar="MARKETPULSE_DATASETS", help="shared datasets")] = None,
    max_steps: Annotated[int, typer.Option(help="stop after N steps (smoke runs); 0 = the recipe's epochs")] = 0,
    export: Annotated[bool, typer.Option(help="export ONNX files, check parity, score after training")] = True,
) -> None:
    """Fine-tune the multi-task model from a recipe, then export it (one command reproduces a shipped model)."""
    import dataclasses

    from marketpulse.core.paths import shared_datasets_dir
    from marketpulse.inference.bundle import default_model_dir
    from marketpulse.training.recipe import load_recipe
    from marketpulse.training.train import train as run_training

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recipe_path = recipe or default_model_dir() / "recipe.json"
    if out is None and recipe_path.name != "recipe.json":
        # Only a model folder's own recipe trains in place; any other recipe (an ablation, a variant)
        # would drop its runs and a copied recipe.json beside the files it was compared with.
        raise typer.BadParameter(f"--out is needed: {recipe_path} is not a model folder's recipe.json, the one "
                                 "recipe that trains in place")
    spec = load_recipe(recipe_path)
    if max_steps:
        spec = dataclasses.replace(spec, max_steps=max_steps)
    model_dir = out or recipe_path.parent
    model_dir.mkdir(parents=True, exist_ok=True)
    if (model_dir / "recipe.json").resolve() != recipe_path.resolve():
        # The model folder carries the recipe it was trained from, so export can re-read it.
        (model_dir / "recipe.json").write_text(recipe_path.read_text(encoding="utf-8"), encoding="utf-8")
    summary = run_training(spec, datasets or shared_datasets_dir(), model_dir / "build")
    typer.echo(f"best dev selection score {summary['best_select']:.4f}; checkpoint in {model_dir / 'build'}")
    if export:
        _export(model_dir, spec, datasets or shared_datasets_dir())


def _export(model_dir: Path, spec, datasets: Path) -> None:
    from marketpulse.training.export import export_model
    from marketpulse.training.report import write_metrics

    report = export_model(spec, model_dir / "build", model_dir, datasets)
    typer.echo(f"exported to {model_dir}: parity {report['parity']}")
    metrics = write_metrics(spec, model_dir, datasets)
    test = metrics["int8"]["test"]
    typer.echo(
        f"int8: TFNS valid macro-F1 {test['tfns_valid']['macro_f1']:.4f}, "
        f"SENTiVENT test macro-F1 {test['sentivent_doc_split']['macro_f1']:.4f}; "
        f"drop vs fp32 {metrics['int8_drop_vs_fp32']} (metrics.json)"
    )


def export(
    model_dir: Annotated[Path | None, typer.Option("--model", help="model folder with recipe.json and build/")] = None,
    datasets: Annotated[Path | None, typer.Option(envvar="MARKETPULSE_DATASETS", help="shared datasets")] = None,
) -> None:
    """Export the trained checkpoint to ONNX (fp32, int8 CPU, fp16 GPU) and check parity with PyTorch."""
    from marketpulse.core.paths import shared_datasets_dir
    from marketpulse.inference.bundle import default_model_dir
    from marketpulse.training.recipe import load_recipe

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model_dir = model_dir or default_model_dir()
    _export(model_dir, load_recipe(model_dir / "recipe.json"), datasets or shared_datasets_dir())


def evaluate(
    model_dir: Annotated[Path | None, typer.Option("--model", help="model folder; default: shipped")] = None,
    datasets: Annotated[Path | None, typer.Option(envvar="MARKETPULSE_DATASETS", help="shared datasets")] = None,
    precision: Annotated[str, typer.Option(
        help="int8: the CPU file; fp16: the GPU file, on CUDA where it works, else on the CPU")] = "int8",
    update_metrics: Annotated[bool, typer.Option(help="store the figures as metrics.json's section for "
                                                      "this precision")] = False,
) -> None:
    """Score one of a model folder's files through the engine on its test, external and dev sets, beside
    the stored figures."""
    from marketpulse.core.paths import shared_datasets_dir
    from marketpulse.inference.bundle import default_model_dir
    from marketpulse.training.report import PRECISIONS, rescore, store

    if precision not in PRECISIONS:
        raise typer.BadParameter(f"one of {', '.join(PRECISIONS)}, not {precision!r}", param_hint="--precision")
    model_dir = model_dir or default_model_dir()
    typer.echo(f"scoring {model_dir} ({precision}) on every held-out set ...")
    stored, measured = rescore(model_dir, datasets or shared_datasets_dir(), precision)
    typer.echo(f"ran on {measured['provider']}")
    # fp16 rounds the fp32 weights and nothing else, so its figures sit beside fp32's where no fp16 is stored.
    compared = precision if precision in stored or precision == "int8" else "fp32"
    typer.echo(f"{'set':<44}{'n':>7}{'macro-F1':>10}{'stored ' + compared:>14}")
    for section in ("test", "external", "dev"):
        for name, figures in measured[section].items():
            before = stored.get(compared, {}).get(section, {}).get(name, {}).get("macro_f1")
            shown = "-" if before is None else f"{before:.4f}"
            typer.echo(f"{section + '/' + name:<44}{figures['n']:>7}{figures['macro_f1']:>10.4f}{shown:>14}")
            if "document_bootstrap" in figures:
                spread = figures["document_bootstrap"]
                low, high = spread["interval_95"]
                typer.echo(f"{'':<4}over {spread['documents']} documents, resampled: sd {spread['sd']:.4f},"
                           f" 95% of replicates in {low:.4f}-{high:.4f}")
    if update_metrics:
        store(model_dir, stored, precision, measured)
        typer.echo(f"stored in {model_dir / 'metrics.json'} ({precision})")


def classify(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help='lines of {"id": str, "text": str}')],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL out: one line per valid input, in order")],
    model_dir: Annotated[
        Path | None, typer.Option("--model", envvar="MARKETPULSE_MODEL_DIR", help="model folder; default: shipped")
    ] = None,
) -> None:
    """Classify texts: sentiment, sentiment_score, events and all 18 event scores per line."""
    from marketpulse.inference.classify_file import classify_file
    from marketpulse.inference.engine import load_classifier

    try:
        classifier = load_classifier(model_dir)
    except ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    skipped = classify_file(classifier, input_path, output, err=lambda m: typer.echo(m, err=True))
    if skipped:
        typer.echo(f"{skipped} line(s) skipped", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("export")(export)
    app.command("evaluate")(evaluate)
    app.command("classify")(classify)
