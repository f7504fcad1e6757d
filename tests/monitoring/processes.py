"""``sluice flower`` and ``sluice metrics`` as real processes for the tests, and HTTP GETs."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

__all__ = ["free_port", "get", "running_flower", "running_metrics", "running_sluice"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, auth: tuple[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    """``(status, body)`` of a GET, errors included."""
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@contextmanager
def running_sluice(
    env: dict[str, str],
    log: Path,
    args: list[str],
    ready_path: str,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Iterator[str]:
    """Run ``sluice ARGS --port P`` and yield its loopback URL once ``ready_path`` answers."""
    port = free_port()
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sluice.cli.main", *args, "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{args[0]} exited with {process.returncode}:\n{log.read_text()}"
                )
            try:
                if get(f"{url}{ready_path}", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{args[0]} did not answer:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def running_flower(
    env: dict[str, str], log: Path, address: str = "127.0.0.1", cwd: Path | None = None
) -> AbstractContextManager[str]:
    """``sluice flower --address ADDRESS``, ready once its health check answers."""
    return running_sluice(env, log, ["flower", "--address", address], "/healthcheck", cwd=cwd)


def running_metrics(env: dict[str, str], log: Path) -> AbstractContextManager[str]:
    """``sluice metrics`` on loopback, ready once it serves ``/metrics``."""
    return running_sluice(env, log, ["metrics"], "/metrics")
