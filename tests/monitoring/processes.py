"""A real Flower for the tests, started with ``sluice flower`` beside a cluster."""

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
from contextlib import contextmanager
from pathlib import Path

__all__ = ["free_port", "get", "running_flower"]


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
def running_flower(
    env: dict[str, str], log: Path, address: str = "127.0.0.1", timeout: float = 60
) -> Iterator[str]:
    """Run ``sluice flower --address ADDRESS`` and yield its loopback URL once it answers."""
    port = free_port()
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "flower", "--address", address, "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flower exited with {process.returncode}:\n{log.read_text()}")
            try:
                if get(f"{url}/healthcheck", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"flower did not answer:\n{log.read_text()}")
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
