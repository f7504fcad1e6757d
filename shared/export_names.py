"""The export's names, for a command line that shows them before reading anything: the
schema version every exported row carries, and the file formats. :mod:`shared.export` and
:mod:`shared.export_files` use them; this module imports nothing, so ``sluice export
--help`` does not load the store's libraries."""

from __future__ import annotations

__all__ = ["FORMATS", "SCHEMA"]

# Version 2: ``published`` may carry a time and offset after the day (version 1: the day
# only), and ``job`` names the job that first stored the article (version 1: the last one).
SCHEMA = "sluice-article/2"
FORMATS = ("jsonl", "csv", "parquet")
