"""Headless Chromium (Debian's ``chromium``) driven from its command line, offline."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["chromium", "dump_dom", "screenshot"]

# No sandbox (tests may run as root), and nothing that reaches for the network by itself:
# the machine has none, and those connections would only fail.
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def chromium() -> str | None:
    """The Chromium binary, if installed (``.ci/run`` installs Debian's)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(url: str, *flags: str, settle_ms: int, timeout: float) -> subprocess.CompletedProcess:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="sluice-chromium-") as profile:
        return subprocess.run(
            [
                binary,
                *_FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={settle_ms}",
                *flags,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def dump_dom(url: str, settle_ms: int = 5000, timeout: float = 90) -> str:
    """The page's DOM after its scripts ran for ``settle_ms`` of virtual time."""
    return _run(url, "--dump-dom", settle_ms=settle_ms, timeout=timeout).stdout


def screenshot(
    url: str,
    path: Path,
    size: tuple[int, int] = (1400, 1000),
    settle_ms: int = 5000,
    timeout: float = 90,
) -> Path:
    """A PNG of the page as a person sees it, after ``settle_ms`` of virtual time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        url,
        f"--screenshot={path}",
        f"--window-size={size[0]},{size[1]}",
        settle_ms=settle_ms,
        timeout=timeout,
    )
    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot to {path}")
    return path
