"""`marketpulse dev services up|down|status`: real Kafka + ClickHouse for development and tests."""

from __future__ import annotations

import typer

app = typer.Typer(help="Development services.", no_args_is_help=True)
