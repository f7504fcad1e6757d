"""The export's names, for a command line that shows them before reading anything: the
schema version every exported row carries, and the file formats. :mod:`shared.export` and
:mod:`shared.export_files` use them; this module imports nothing, so ``sluice export
--help`` does not load the store's libraries."""

from __future__ import annotations

__all__ = ["FORMATS", "SCHEMA"]

SCHEMA = "sluice-article/1"
FORMATS = ("jsonl", "csv", "parquet")
