"""Model commands: train, export, classify."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Model commands are added here by the models room."""
