"""The README's settings table names every setting, and only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from shared.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_variables() -> set[str]:
    """Every variable the table's first column names; ``…_READ_TIMEOUT`` after
    ``SLUICE_FETCH_CONNECT_TIMEOUT`` is ``SLUICE_FETCH_READ_TIMEOUT``."""
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ")[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        stem = ""
        for name in re.findall(r"`([^`]+)`", first):
            if name.startswith("…_"):
                name = stem + name[1:]
            else:
                stem = "_".join(name.split("_")[:2])  # SLUICE_FETCH
            names.add(name)
    return names


def test_the_readme_settings_table_matches_the_settings_model() -> None:
    fields = {f"SLUICE_{name.upper()}" for name in Settings.model_fields}
    documented = _table_variables()
    assert sorted(fields - documented) == [], "settings missing from the README's table"
    assert sorted(documented - fields) == [], "the README's table names unknown settings"
