"""Run `marketpulse` commands as real subprocesses for integration tests (signals included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pydantic_settings import BaseSettings

from marketpulse.core.settings import to_env


def command_env(*settings: BaseSettings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPULSE_")}
    env.update(to_env(*settings))
    env.update(extra)
    return env


def marketpulse(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a one-shot command and fail loudly with its output if it fails."""
    result = subprocess.run([sys.executable, "-m", "marketpulse", *args], env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"marketpulse {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


class Worker:
    """`marketpulse worker` in a subprocess, logging to a file, stoppable by signal."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "marketpulse", "worker", *args], env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 120) -> None:
        wait_until(lambda: needle in self.log(), timeout, f"worker log to show {needle!r}", self.log)

    def send(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.send(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)
        finally:
            self._log.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, context: Callable[[], str] | None = None,
               interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    detail = f"\n--- context ---\n{context()[-4000:]}" if context else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
