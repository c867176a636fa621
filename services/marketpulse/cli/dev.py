"""`marketpulse dev services up|down|status`: real Kafka + ClickHouse for development and tests."""

from __future__ import annotations

import time
from enum import StrEnum

import typer

app = typer.Typer(help="Development services.", no_args_is_help=True)
services_app = typer.Typer(
    help="Apache Kafka (KRaft, single node) and ClickHouse server on 127.0.0.1, state under .mp/.",
    no_args_is_help=True,
)
app.add_typer(services_app, name="services")


class Only(StrEnum):
    kafka = "kafka"
    clickhouse = "clickhouse"


OnlyOption = typer.Option(None, "--only", help="act on one service only (default: both)")


def _selected(only: Only | None) -> tuple[str, ...]:
    return (only.value,) if only else ("kafka", "clickhouse")


@services_app.command("up")
def up(only: Only | None = OnlyOption) -> None:
    """Start the services that are not running and wait until they answer (idempotent)."""
    from marketpulse.core.errors import ServiceError
    from marketpulse.devservices import ensure_services

    t0 = time.monotonic()
    try:
        info = ensure_services(only=_selected(only), say=typer.echo)
    except ServiceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    state = f"started {', '.join(info.started)}" if info.started else "already running"
    typer.echo(f"{state} in {time.monotonic() - t0:.1f} s")
    _print_status(_selected(only))


@services_app.command("down")
def down(only: Only | None = OnlyOption) -> None:
    """Stop the services (SIGTERM, then SIGKILL after a timeout). Stopping stopped ones is fine."""
    from marketpulse.devservices import stop_services

    stopped = stop_services(only=_selected(only))
    typer.echo(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@services_app.command("status")
def status(only: Only | None = OnlyOption) -> None:
    """Show whether each service runs, where it listens and its version. Exit 1 if one is down."""
    if not _print_status(_selected(only)):
        raise typer.Exit(1)


def _print_status(names: tuple[str, ...]) -> bool:
    from marketpulse.core.settings import DevServicesSettings
    from marketpulse.devservices import clickhouse, kafka

    dev = DevServicesSettings()
    all_up = True
    if "kafka" in names:
        k = kafka.status(dev)
        all_up &= k.running
        shown = f"running pid {k.pid}, {k.bootstrap}, Apache Kafka {k.version}" if k.running else "stopped"
        typer.echo(f"kafka:      {shown}")
    if "clickhouse" in names:
        c = clickhouse.status(dev)
        all_up &= c.running
        where = f"{c.host}:{c.port} (http {c.http_port})"
        shown = f"running pid {c.pid}, {where}, ClickHouse {c.version}" if c.running else "stopped"
        typer.echo(f"clickhouse: {shown}")
    return all_up
