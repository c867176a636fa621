"""ClickHouse server from Debian's `clickhouse-server` package, with our own config, on 127.0.0.1.

Layout under <state>/clickhouse/: config.xml, users.xml, data/, logs/, clickhouse-server.pid.
There is no systemd here: the server daemonises itself and we track it by its pid file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from marketpulse.core.errors import ServiceError
from marketpulse.core.settings import DevServicesSettings
from marketpulse.devservices import process
from marketpulse.devservices.config import render, state_dir, write_text_if_changed

APT_PACKAGES = ("clickhouse-server", "clickhouse-client")


@dataclass(frozen=True)
class ClickHouseLayout:
    root: Path
    data: Path
    logs: Path
    config: Path
    users: Path
    pid_file: Path

    @property
    def log_file(self) -> Path:
        return self.logs / "clickhouse-server.log"

    @property
    def err_log_file(self) -> Path:
        return self.logs / "clickhouse-server.err.log"


@dataclass(frozen=True)
class ClickHouseStatus:
    pid: int | None
    host: str
    port: int
    http_port: int
    version: str | None

    @property
    def running(self) -> bool:
        return self.pid is not None


def layout(dev: DevServicesSettings) -> ClickHouseLayout:
    root = state_dir(dev) / "clickhouse"
    return ClickHouseLayout(
        root=root,
        data=root / "data",
        logs=root / "logs",
        config=root / "config.xml",
        users=root / "users.xml",
        pid_file=root / "clickhouse-server.pid",
    )


def render_config(dev: DevServicesSettings, lay: ClickHouseLayout) -> str:
    return render(
        "clickhouse/config.xml.tmpl",
        log_dir=lay.logs,
        tcp_port=dev.clickhouse_port,
        http_port=dev.clickhouse_http_port,
        data_dir=lay.data,
        users_config=lay.users,
    )


def render_users() -> str:
    return render("clickhouse/users.xml.tmpl")


def server_binary() -> str | None:
    return shutil.which("clickhouse-server")


def ensure_installed(say=print) -> bool:
    """Install Debian's package when the binary is missing (root only). True if installed now."""
    if server_binary():
        return False
    if os.geteuid() != 0:
        raise ServiceError(
            "clickhouse-server is not installed; as root run: "
            "apt-get update && apt-get install -y clickhouse-server clickhouse-client"
        )
    say("clickhouse-server missing: installing Debian's clickhouse-server and clickhouse-client (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *APT_PACKAGES]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise ServiceError(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    if not server_binary():
        raise ServiceError("apt-get installed clickhouse-server but the binary is not on PATH")
    return True


def running_pid(lay: ClickHouseLayout) -> int | None:
    # Our config path in the command line tells our server from the package's own (if any).
    return process.running_pid(lay.pid_file, str(lay.config))


def ping(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=2) as resp:
            return resp.read().decode().strip() == "Ok."
    except (urllib.error.URLError, OSError):
        return False


def server_version(dev: DevServicesSettings, timeout_s: float = 5.0) -> str:
    """`SELECT version()` over the native protocol: the port our store actually uses."""
    from clickhouse_driver import Client

    client = Client(
        host="127.0.0.1", port=dev.clickhouse_port, connect_timeout=timeout_s, send_receive_timeout=timeout_s
    )
    try:
        return str(client.execute("SELECT version()")[0][0])
    finally:
        client.disconnect()


def _native_ready(dev: DevServicesSettings) -> bool:
    if not ping(dev.clickhouse_http_port):
        return False
    try:
        server_version(dev)
    except Exception:  # noqa: BLE001 - any failure here just means "not ready yet"
        return False
    return True


def start(dev: DevServicesSettings, say=print) -> int:
    """Start the server (installing it first when missing) and wait until the native port answers."""
    ensure_installed(say)
    lay = layout(dev)
    for folder in (lay.data, lay.logs):
        folder.mkdir(parents=True, exist_ok=True)
    write_text_if_changed(lay.config, render_config(dev, lay))
    write_text_if_changed(lay.users, render_users())
    for port in (dev.clickhouse_port, dev.clickhouse_http_port):
        if process.port_open("127.0.0.1", port):
            raise ServiceError(f"port {port} is taken by a process that is not our ClickHouse server")
    lay.pid_file.unlink(missing_ok=True)
    _launch(lay)
    pid = _wait_for_pid(lay)
    _wait(dev, lay, pid)
    return pid


def _launch(lay: ClickHouseLayout) -> None:
    argv = [
        server_binary() or "clickhouse-server",
        f"--config-file={lay.config}",
        "--daemon",
        f"--pid-file={lay.pid_file}",
    ]
    # The launcher forks the daemon and returns at once; its own output only matters on failure.
    result = subprocess.run(argv, cwd=lay.root, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise ServiceError(
            f"clickhouse-server --daemon failed ({result.returncode}):\n{result.stderr[-2000:]}\n"
            f"{process.tail(lay.err_log_file)}"
        )


def _wait_for_pid(lay: ClickHouseLayout) -> int:
    found: list[int] = []

    def probe() -> bool:
        pid = process.read_pid(lay.pid_file)
        found[:] = [pid] if pid else []
        return bool(found)

    process.wait_ready("ClickHouse (pid file)", probe, 30.0, alive=lambda: True, log_file=lay.err_log_file)
    return found[0]


def _wait(dev: DevServicesSettings, lay: ClickHouseLayout, pid: int) -> None:
    try:
        process.wait_ready(
            "ClickHouse",
            lambda: _native_ready(dev),
            dev.start_timeout_s,
            alive=lambda: process.pid_alive(pid),
            log_file=lay.err_log_file,
        )
    except ServiceError:
        process.stop_pid(pid, timeout_s=10)
        lay.pid_file.unlink(missing_ok=True)
        raise


def status(dev: DevServicesSettings) -> ClickHouseStatus:
    lay = layout(dev)
    pid = running_pid(lay)
    version = None
    if pid is not None:
        try:
            version = server_version(dev)
        except Exception:  # noqa: BLE001 - status reports, it does not fail
            version = None
    return ClickHouseStatus(pid, "127.0.0.1", dev.clickhouse_port, dev.clickhouse_http_port, version)


def stop(dev: DevServicesSettings, timeout_s: float = 30.0) -> bool:
    """Stop the server if it runs. True if it was running."""
    lay = layout(dev)
    pid = running_pid(lay)
    if pid is None:
        return False
    process.stop_pid(pid, timeout_s=timeout_s)
    lay.pid_file.unlink(missing_ok=True)
    return True
