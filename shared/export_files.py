"""Writing export rows (:mod:`shared.export`) as JSONL, CSV or Parquet, page by page.

JSONL: one JSON object a line. CSV: a header line of the field names, ``entities`` (with
``--entities``) as a JSON string. Parquet: one row group a page, ``entities`` a list of
structs, the schema version also in the file's key-value metadata (``sluice.schema``).
CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with a single quote, as OWASP recommends
against CSV injection, unless ``neutralize_formulas`` is off.
Every format writes as it reads, so memory is one page whatever the number of rows; the
output stream needs no seeking (stdout works for all three).
"""

from __future__ import annotations

import csv
import io
import json
from typing import IO, Any

from sluice.shared.export import FIELDS, SCHEMA, ExportFilter, export_pages
from sluice.shared.export_names import FORMATS

__all__ = ["FORMATS", "FORMULA_PREFIXES", "neutralize_formula", "write_export"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: Any) -> Any:
    """``value`` with a single quote before it if it is a string a spreadsheet would read
    as a formula; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _jsonl(pages: Any, out: IO[bytes]) -> int:
    count = 0
    for page in pages:
        out.write(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in page).encode("utf-8")
        )
        count += len(page)
    return count


def _csv(pages: Any, out: IO[bytes], with_entities: bool, neutralize: bool) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    fields = [*FIELDS, "entities"] if with_entities else list(FIELDS)
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    count = 0
    for page in pages:
        for row in page:
            if with_entities:
                row = {**row, "entities": json.dumps(row["entities"], ensure_ascii=False)}
            if neutralize:
                row = {name: neutralize_formula(value) for name, value in row.items()}
            writer.writerow(row)
        count += len(page)
    text.flush()
    text.detach()
    return count


def _parquet_schema(with_entities: bool) -> Any:
    import pyarrow as pa

    columns = [pa.field(name, pa.string()) for name in FIELDS]
    columns[FIELDS.index("similarity")] = pa.field("similarity", pa.float64())
    if with_entities:
        entity = pa.struct(
            [
                ("text", pa.string()),
                ("label", pa.string()),
                ("start", pa.int32()),
                ("end", pa.int32()),
            ]
        )
        columns.append(pa.field("entities", pa.list_(entity)))
    return pa.schema(columns, metadata={"sluice.schema": SCHEMA})


def _parquet(pages: Any, out: IO[bytes], with_entities: bool) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(with_entities)
    count = 0
    with pq.ParquetWriter(pa.PythonFile(out, mode="w"), schema, compression="zstd") as writer:
        for page in pages:
            writer.write_table(pa.Table.from_pylist(page, schema=schema))
            count += len(page)
    return count


def write_export(
    where: ExportFilter,
    fmt: str,
    out: IO[bytes],
    *,
    with_entities: bool = False,
    neutralize_formulas: bool = True,
) -> int:
    """Write the matching articles to ``out`` in ``fmt``; returns how many rows.
    ``neutralize_formulas`` applies to CSV only."""
    pages = export_pages(where, with_entities=with_entities)
    if fmt == "jsonl":
        return _jsonl(pages, out)
    if fmt == "csv":
        return _csv(pages, out, with_entities, neutralize_formulas)
    if fmt == "parquet":
        return _parquet(pages, out, with_entities)
    raise ValueError(f"unknown format {fmt!r}")
