"""`marketpulse ingest ...`: sources that put raw documents on Kafka."""

from __future__ import annotations

import typer

app = typer.Typer(help="Ingest documents into Kafka.", no_args_is_help=True)
