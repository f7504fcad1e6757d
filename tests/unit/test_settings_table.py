"""The README's settings tables, one per section of the settings model, name every setting
in its own section, and only settings that exist."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sluice.shared.settings import SECTIONS, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_variables() -> dict[str, set[str]]:
    """Every variable each ``### <section>`` table's first column names;
    ``…_READ_TIMEOUT`` after ``SLUICE_FETCH_CONNECT_TIMEOUT`` is ``SLUICE_FETCH_READ_TIMEOUT``."""
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ")[0]
    tables: dict[str, set[str]] = {}
    names: set[str] = tables.setdefault("", set())  # rows before any heading
    for line in section.splitlines():
        if line.startswith("### "):
            names = tables.setdefault(line.removeprefix("### ").strip().lower(), set())
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
    return tables


def _variables(fields: Iterable[str]) -> set[str]:
    return {f"SLUICE_{name.upper()}" for name in fields}


def test_the_readme_settings_tables_match_the_settings_model() -> None:
    documented = _table_variables()
    every = set().union(*documented.values())
    fields = _variables(Settings.model_fields)
    assert sorted(fields - every) == [], "settings missing from the README's tables"
    assert sorted(every - fields) == [], "the README's tables name unknown settings"


def test_each_readme_table_is_one_section_of_the_settings_model() -> None:
    documented = _table_variables()
    assert documented.pop("") == set(), "settings documented outside a section's table"
    assert list(documented) == list(SECTIONS), "one table per section, in the model's order"
    for name, section in SECTIONS.items():
        assert documented[name] == _variables(section.model_fields), f"the {name} table"
