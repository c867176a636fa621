"""`marketpulse config show`: every setting, its environment variable, value and meaning."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """List every setting with its MARKETPULSE_* variable, current value and description."""
    from marketpulse.core.settings import all_settings, describe

    for settings_cls in all_settings():
        typer.echo(f"[{settings_cls.__name__}]")
        for env, value, doc in describe(settings_cls):
            typer.echo(f"  {env:<44} {value:<28} {doc}")
        typer.echo("")
