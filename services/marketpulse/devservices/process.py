"""Process plumbing shared by the dev services: pid files, detached start, stop, readiness waits.

The services outlive the command that started them (a `marketpulse dev services up` exits, the
broker keeps running), so everything here works from pid files rather than from child handles.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from marketpulse.core.errors import ServiceError


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in `pid_file`, or None when the file is missing, empty or garbage."""
    try:
        text = pid_file.read_text().strip()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")


def pid_alive(pid: int) -> bool:
    """True for a live process; a zombie counts as dead (it holds no ports and will never answer)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return _proc_state(pid) not in ("Z", "X")


def _proc_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?"
    # The command name may contain spaces and parentheses: the state follows the last ')'.
    return stat.rsplit(")", 1)[-1].split()[0]


def cmdline_contains(pid: int, marker: str) -> bool:
    """Guards against pid reuse: a recorded pid only counts if that process is still our service."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the pid
    return marker.encode() in raw


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The live pid of a service, removing a stale pid file on the way."""
    pid = read_pid(pid_file)
    if pid is not None and pid_alive(pid) and cmdline_contains(pid, marker):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def _reap(pid: int) -> None:
    # When the service was started by this very process (a test session), collect the zombie.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def stop_pid(pid: int, timeout_s: float = 30.0) -> bool:
    """SIGTERM (clean shutdown flushes data), then SIGKILL after `timeout_s`. True if it had to kill."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if wait_dead(pid, timeout_s):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    wait_dead(pid, 10.0)
    return True


def spawn_detached(argv: Sequence[str], log_file: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Start `argv` in its own session (a Ctrl-C in the terminal must not reach it), output to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return proc.pid


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for error messages; empty when there is no log yet."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(
    name: str,
    probe: Callable[[], bool],
    timeout_s: float,
    alive: Callable[[], bool],
    log_file: Path,
) -> None:
    """Poll `probe` until it answers True; fail fast if the process died, with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        if not alive():
            raise ServiceError(f"{name} exited while starting; {_log_tail(log_file)}")
        time.sleep(0.5)
    raise ServiceError(f"{name} not ready after {timeout_s:.0f} s; {_log_tail(log_file)}")


def _log_tail(log_file: Path) -> str:
    return f"last lines of {log_file}:\n{tail(log_file)}"
