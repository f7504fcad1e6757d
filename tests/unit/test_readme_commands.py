"""The README's way to reach the ``sluice`` command works in a new shell: its lines, run as
written from the repository's folder in a shell whose PATH knows nothing of the venv."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = ".venv"


def _activation_block() -> str:
    """The README's shell block that activates the environment."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    found = [b for b in blocks if f"source {VENV}/bin/activate" in b]
    assert len(found) == 1, "the README says once how to put sluice on PATH"
    return found[0]


def _new_shell(script: str) -> subprocess.CompletedProcess[str]:
    # The venv these tests run in is the repository's .venv under `make test`; elsewhere
    # the README's lines are pointed at the one running them.
    venv = Path(sys.prefix)
    if venv.resolve() != (REPO / VENV).resolve():
        script = script.replace(f"{VENV}/bin/", f"{venv}/bin/")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_new_shell_has_no_sluice_until_the_readme_s_lines_run() -> None:
    assert _new_shell("command -v sluice").returncode != 0
    block = _activation_block()
    assert block.rstrip().splitlines()[-1] == "sluice --version"
    result = _new_shell(block)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sluice 0.1.0"
