"""The dedup index's Lua scripts, read once from ``lua/`` beside this module.

Each script is sent to Redis with the shared functions of ``helpers.lua`` in front of it, so
no script text is written twice.
"""

from __future__ import annotations

import functools
from importlib.resources import files

__all__ = ["script"]

_LUA = files(__package__) / "lua"


@functools.cache
def _source(name: str) -> str:
    return (_LUA / f"{name}.lua").read_text(encoding="utf-8")


@functools.cache
def script(name: str) -> str:
    """The text of script ``name`` (``decide``, ``claim``, ``release`` or ``restore``)."""
    return _source("helpers") + "\n" + _source(name)
