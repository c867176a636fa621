"""The `marketpulse` command: one sub-command group per room of the codebase.

Each group lives in its own module here and imports its heavy dependencies inside the command,
so `marketpulse --help` stays fast.
"""

from __future__ import annotations

import typer

from marketpulse.cli import bench, config, db, dev, entities, ingest, models, run

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


def main() -> None:
    app()
