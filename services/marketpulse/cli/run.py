"""Long-running and one-shot product commands: worker, demo."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Worker and demo are added here."""
