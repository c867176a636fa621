"""`marketpulse bench ...`: benchmark commands that print figures (never tests)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)
