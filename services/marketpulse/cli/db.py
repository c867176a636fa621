"""`marketpulse db ...`: schema migrations on the ClickHouse server."""

from __future__ import annotations

import typer

app = typer.Typer(help="ClickHouse schema.", no_args_is_help=True)


@app.command("migrate")
def migrate() -> None:
    """Apply the versioned migrations in schemas/clickhouse/ (idempotent)."""
    from marketpulse.core.settings import ClickHouseSettings
    from marketpulse.store.clickhouse import ClickHouseStore

    store = ClickHouseStore(ClickHouseSettings())
    applied = store.migrate()
    typer.echo(f"server {store.server_version()}: applied {len(applied)} migration(s) {applied or ''}".rstrip())
