"""WARC files for the benchmarks, written from corpus pages with realistic records.

Each page becomes what a news crawler (CC-NEWS's, say) writes for it: a ``request`` record,
a ``response`` record with the server's HTTP headers (``Date``, ``Server``, ``Content-Type``
with its charset, ``Content-Length``, ``Cache-Control`` …) and ``WARC-IP-Address``,
``WARC-Payload-Digest`` and ``WARC-Date``, and a ``metadata`` record (fetch time, outlinks),
each record its own gzip member, after one ``warcinfo`` record.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = ["write_warc"]

_SERVERS = ("nginx", "Apache", "cloudflare", "Varnish", "AmazonS3")


def _digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def write_warc(path: Path, pages: Iterable[tuple[str, bytes]]) -> tuple[int, int]:
    """Write ``(url, html)`` pages to ``path``; returns (records written, bytes)."""
    started = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    records = 0
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        info = writer.create_warcinfo_record(
            path.name,
            {"software": "sluice benchmarks", "format": "WARC File Format 1.1", "robots": "obey"},
        )
        writer.write_record(info)
        records += 1
        for n, (url, body) in enumerate(pages):
            when = (started + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            host = urlsplit(url).hostname or "example.com"
            request = StatusAndHeaders(
                f"GET {urlsplit(url).path or '/'} HTTP/1.1",
                [
                    ("Host", host),
                    ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
                    ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
                    ("Accept-Encoding", "gzip"),
                ],
                is_http_request=True,
            )
            common = {"WARC-Date": when, "WARC-IP-Address": f"203.0.113.{n % 250 + 1}"}
            writer.write_record(
                writer.create_warc_record(
                    url, "request", http_headers=request, warc_headers_dict=common
                )
            )
            response = StatusAndHeaders(
                "200 OK",
                [
                    ("Date", when),
                    ("Server", _SERVERS[n % len(_SERVERS)]),
                    ("Content-Type", "text/html; charset=UTF-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "max-age=300, public"),
                    ("Vary", "Accept-Encoding"),
                    ("X-Cache", "HIT"),
                ],
                protocol="HTTP/1.1",
            )
            headers = {**common, "WARC-Payload-Digest": _digest(body)}
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=response,
                    warc_headers_dict=headers,
                )
            )
            meta = f"fetchTimeMs: {40 + n % 400}\r\ncharset-detected: UTF-8\r\n".encode()
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(meta),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={"WARC-Date": when},
                )
            )
            records += 3
    return records, path.stat().st_size
