"""producers.warc against a real Redis and real stores: what an archive becomes, and resuming.

The archives are built here with warcio's writer. Messages go to the session's Redis (no
workers consume them), so each test reads what was sent from the ``extract`` queue and
empties it.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from sluice.producers.filters import RecordFilter
from sluice.producers.resume import resume_job
from sluice.producers.warc import IngestProgress, ingest_warcs
from sluice.producers.warc_records import End, Record, read_records
from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import pages
from sluice.shared.jobs import list_items
from sluice.shared.queues import decode_message, queue_keys
from sluice.shared.settings import get_settings
from tests.support.warcs import (
    article_html,
    claiming,
    damaged_whole_file_gzip,
    encoded,
    no_http_headers,
    opener,
    record,
    truncated,
    warc,
    warc_bytes,
    whole_file_gzip,
    wrong_length,
)
from tests.support.web import WebServer


@pytest.fixture
def extract_queue(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    keys = queue_keys("extract")
    redis_client.delete(*keys)
    yield redis_client
    redis_client.delete(*keys)


def _sent(client: redis.Redis) -> list[dict]:
    """The articles sent to extract, oldest first."""
    messages = []
    for key in queue_keys("extract"):
        for raw in reversed(client.lrange(key, 0, -1)):
            decoded = decode_message(raw)
            assert decoded is not None
            messages.append(decoded[1][0])
    return messages


def _page(n: int, **options: object) -> bytes:
    return record(f"https://news.test/{n}.html", article_html(n), **options)  # type: ignore[arg-type]


def _hostile() -> list[bytes]:
    return [
        _page(1),
        record(
            "https://news.test/",
            b"GET / HTTP/1.1\r\n\r\n",
            rec_type="request",
            content_type="application/http; msgtype=request",
        ),
        record(
            "https://news.test/m",
            b"via: test\r\n",
            rec_type="metadata",
            content_type="application/warc-fields",
        ),
        record("https://news.test/1.html", b"", rec_type="revisit"),
        record("https://news.test/a.pdf", b"%PDF-1.4", content_type="application/pdf"),
        truncated("https://news.test/cut.html", article_html(90)),
        _page(2, date="2026-11-30T07:30:00Z"),
        wrong_length("https://news.test/long.html", article_html(91), 300),
        _page(3),
        no_http_headers("https://news.test/bare.html", article_html(92)),
        record("https://news.test/huge.html", "<html><body>" + "<p>word</p>" * 5_000_000),
        record(
            "https://news.test/ru.html",
            article_html(93).encode("cp1251"),
            content_type="text/html; charset=windows-1251",
        ),
        _page(4),
    ]


def test_an_archive_with_hostile_records_is_read_to_its_end(
    database_url: str, extract_queue: redis.Redis, tmp_path: Path
) -> None:
    path = warc(tmp_path / "hostile.warc.gz", _hostile())
    seen: list[IngestProgress] = []
    job_id = ingest_warcs([path], progress=seen.append)

    items = {item["source"]: item for item in list_items(job_id)}
    assert sorted(items) == sorted(
        f"https://news.test/{name}.html" for name in (1, 2, 3, 4, "huge", "ru")
    )
    assert items["https://news.test/huge.html"]["state"] == "failed"
    assert items["https://news.test/huge.html"]["reason"] == "too_large"
    sent = {a["url"]: a for a in _sent(extract_queue)}
    assert sorted(sent) == sorted(s for s in items if not s.endswith("huge.html"))
    assert all(items[url]["state"] == "queued" for url in sent)
    last = seen[-1]
    assert last.done and last.position == Path(path).stat().st_size
    assert last.skipped == {
        "request": 1,
        "metadata": 1,
        "revisit": 1,
        "not_html": 1,
        "damaged": 1,
        "truncated": 1,  # long.html: its Content-Length claims 300 bytes it does not have
        "no_http_headers": 1,
    }
    assert last.records == 13 and last.items == 6
    cut, long = (
        r
        for r in read_records(opener(Path(path).read_bytes()), max_bytes=1 << 20)
        if isinstance(r, Record) and r.kind in ("damaged", "truncated")
    )
    assert last.bytes_skipped == cut.skipped + long.skipped > 0
    with read_scope() as conn:  # the page keeps its capture time: the record's WARC-Date
        when = conn.execute(
            select(pages.c.fetched_at).where(
                pages.c.id == sent["https://news.test/2.html"]["page_id"]
            )
        ).scalar_one()
    assert when.replace(tzinfo=UTC) == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)


def test_a_tarball_is_no_archive_and_says_so(database_url: str, tmp_path: Path) -> None:
    inner = warc_bytes([_page(1), _page(2)])
    path = tmp_path / "warcs.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("one.warc.gz")
        info.size = len(inner)
        tar.addfile(info, io.BytesIO(inner))
    job_id = ingest_warcs([str(path)])
    (item,) = list_items(job_id)
    assert (item["kind"], item["state"], item["reason"]) == ("warc", "failed", "not_warc")


class _Interrupt(Exception):
    pass


def _stop_in_second_batch() -> Callable[[object], None]:
    """An ``enqueue_progress`` that interrupts the ingestion once batch 2 is recorded, before
    its messages are sent (with SLUICE_SUBMIT_BATCH_SIZE 3)."""
    calls = 0

    def progress(_: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise _Interrupt

    return progress


def test_an_interrupted_ingestion_resumes_at_its_offset_and_sends_each_record_once(
    database_url: str,
    extract_queue: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLUICE_SUBMIT_BATCH_SIZE", "3")
    get_settings.cache_clear()
    parts = [_page(n) for n in range(10)]
    parts.insert(
        4,
        record(
            "https://news.test/",
            b"GET /",
            rec_type="request",
            content_type="application/http; msgtype=request",
        ),
    )
    path = warc(tmp_path / "ten.warc.gz", parts)

    with pytest.raises(_Interrupt):
        ingest_warcs(
            [path],
            job_id="warcresume01",
            enqueue_progress=_stop_in_second_batch(),
            languages=["en"],
        )
    before = list_items("warcresume01")
    assert [i["state"] for i in before] == ["queued"] * 3 + ["recorded"] * 3
    assert len(_sent(extract_queue)) == 3

    resumed = resume_job("warcresume01")

    assert resumed.archives == 1 and resumed.failed == 0
    items = list_items("warcresume01")
    urls = [i["source"] for i in items]
    assert urls == [f"https://news.test/{n}.html" for n in range(10)]
    assert {i["state"] for i in items} == {"queued"}
    sent = [(a["item_id"], a["url"]) for a in _sent(extract_queue)]
    assert sorted(sent) == [(i["item_id"], i["source"]) for i in items]
    # The records resume sent, recorded ones and those read on, keep the job's --language.
    assert {tuple(a["languages"]) for a in _sent(extract_queue)} == {("en",)}
    # Read to its end: a second resume finds nothing to read or send.
    assert resume_job("warcresume01").archives == 0
    assert len(list_items("warcresume01")) == 10


def test_a_resumed_ingestion_leaves_out_what_the_jobs_filter_did(
    database_url: str,
    extract_queue: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLUICE_SUBMIT_BATCH_SIZE", "3")
    get_settings.cache_clear()
    path = warc(tmp_path / "ten.warc.gz", [_page(n) for n in range(10)])
    # Page 8 is read only after the interruption, by the resume.
    without_eight = RecordFilter.from_options(url_pattern=r"/[0-79]\.html$")
    with pytest.raises(_Interrupt):
        ingest_warcs(
            [path],
            job_id="warcfilter01",
            record_filter=without_eight,
            enqueue_progress=_stop_in_second_batch(),
        )
    assert len(list_items("warcfilter01")) == 6

    assert resume_job("warcfilter01").archives == 1
    by_url = {i["source"]: (i["state"], i["reason"]) for i in list_items("warcfilter01")}
    assert by_url.pop("https://news.test/8.html") == ("skipped", "filtered_url")
    assert set(by_url.values()) == {("queued", None)} and len(by_url) == 9
    sent = {a["url"] for a in _sent(extract_queue)}
    assert sent == set(by_url)


def _ranged(data: bytes):  # type: ignore[no-untyped-def]
    """A route answering ``Range: bytes=N-`` with 206, as archive servers do."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        start = 0
        spec = handler.headers.get("Range", "")
        if spec.startswith("bytes="):
            start = int(spec[6:].split("-")[0])
        if start >= len(data) and data:
            handler.send_response(416)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = data[start:]
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Type", "application/warc")
        handler.send_header("Content-Length", str(len(body)))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def test_a_remote_archive_is_streamed_through_the_guarded_client(
    database_url: str, extract_queue: redis.Redis, web: WebServer, prefix: str
) -> None:
    data = warc_bytes(_hostile()[:9])
    url = web.route(f"{prefix}/crawl.warc.gz", _ranged(data))
    job_id = ingest_warcs([url])
    items = list_items(job_id)
    assert [i["source"] for i in items] == [
        "https://news.test/1.html",
        "https://news.test/2.html",
        "https://news.test/3.html",
    ]
    assert len(_sent(extract_queue)) == 3


def test_a_remote_archive_on_a_blocked_address_is_refused(
    database_url: str, web: WebServer, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = web.route(f"{prefix}/crawl.warc.gz", _ranged(warc_bytes([_page(1)])))
    monkeypatch.setenv("SLUICE_FETCH_ALLOW_NETWORKS", "")
    get_settings.cache_clear()
    job_id = ingest_warcs([url])
    (item,) = list_items(job_id)
    assert (item["state"], item["reason"]) == ("failed", "blocked_address")
    assert not any(hit == f"{prefix}/crawl.warc.gz" for hit in web.hits)


def test_a_remote_archive_over_the_cap_is_refused(
    database_url: str, web: WebServer, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = warc_bytes([_page(n) for n in range(5)])
    url = web.route(f"{prefix}/big.warc.gz", _ranged(data))
    monkeypatch.setenv("SLUICE_WARC_MAX_BYTES", str(len(data) // 2))
    get_settings.cache_clear()
    (item,) = list_items(ingest_warcs([url]))
    assert (item["state"], item["reason"]) == ("failed", "too_large")


def test_filters_leave_records_out_with_their_reason(
    database_url: str, extract_queue: redis.Redis, tmp_path: Path
) -> None:
    parts = [
        record("https://a.test/x/1.html", article_html(1), date="2026-01-05T00:00:00Z"),
        record("https://www.a.test/y/2.html", article_html(2), date="2026-02-05T00:00:00Z"),
        record("https://b.test/x/3.html", article_html(3), date="2026-02-05T00:00:00Z"),
        record("https://a.test/x/4.html", article_html(4), date="2026-03-05T00:00:00Z"),
    ]
    path = warc(tmp_path / "dated.warc.gz", parts)
    door = RecordFilter.from_options(["a.test"], r"/x/", "2026-02-01", "2026-03-01")
    items = list_items(ingest_warcs([path], record_filter=door))
    assert [(i["state"], i["reason"]) for i in items] == [
        ("skipped", "filtered_date"),
        ("skipped", "filtered_url"),
        ("skipped", "filtered_domain"),
        ("skipped", "filtered_date"),
    ]
    assert _sent(extract_queue) == []


def test_reading_from_a_kept_offset_gives_the_same_records(tmp_path: Path) -> None:
    data = warc_bytes([_page(n) for n in range(4)])

    def open_at(offset: int) -> io.BytesIO:
        stream = io.BytesIO(data)
        stream.seek(offset)
        return stream

    everything = list(read_records(open_at, max_bytes=1 << 20))
    third = everything[2].offset
    rest = list(read_records(open_at, third, max_bytes=1 << 20))
    assert [r.url for r in rest[:-1]] == [r.url for r in everything[2:-1]]
    assert isinstance(rest[-1], End) and rest[-1].offset == len(data)


def _plain(n: int) -> bytes:
    return _page(n, gzipped=False)


def test_a_whole_file_gzip_and_a_damaged_one_are_read_over_a_url(
    database_url: str, extract_queue: redis.Redis, web: WebServer, prefix: str
) -> None:
    whole = web.route(f"{prefix}/whole.warc.gz", _ranged(whole_file_gzip(map(_plain, range(5)))))
    bad = damaged_whole_file_gzip([_plain(n) for n in range(10, 22)], at=0.5)
    damaged = web.route(f"{prefix}/damaged.warc.gz", _ranged(bad))
    seen: dict[str, IngestProgress] = {}
    job_id = ingest_warcs([whole, damaged], progress=lambda p: seen.__setitem__(p.source, p))

    urls = [i["source"] for i in list_items(job_id)]
    assert urls[:5] == [f"https://news.test/{n}.html" for n in range(5)]
    assert 5 < len(urls) < 17 and urls[5] == "https://news.test/10.html"
    assert seen[whole].done and seen[whole].skipped == {} and seen[whole].bytes_skipped == 0
    assert seen[damaged].done and seen[damaged].skipped.get("damaged", 0) >= 1
    assert seen[damaged].bytes_skipped > 0
    assert len(_sent(extract_queue)) == len(urls)


def test_an_interrupted_hostile_whole_file_gzip_resumes_and_finishes(
    database_url: str,
    extract_queue: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLUICE_SUBMIT_BATCH_SIZE", "2")
    get_settings.cache_clear()
    parts = [_plain(n) for n in range(8)]
    parts.insert(2, encoded("https://news.test/br.html", article_html(30), "br", gzipped=False))
    parts.insert(5, claiming("https://news.test/lie.html", article_html(31), 10 * 1024**3))
    path = tmp_path / "hostile-whole.warc.gz"
    path.write_bytes(whole_file_gzip(parts))

    with pytest.raises(_Interrupt):
        ingest_warcs([str(path)], job_id="warcwhole01", enqueue_progress=_stop_in_second_batch())
    assert len(list_items("warcwhole01")) == 4

    seen: list[IngestProgress] = []
    assert resume_job("warcwhole01", ingest_progress=seen.append).archives == 1

    items = list_items("warcwhole01")
    expected = [f"https://news.test/{n}.html" for n in range(8)]
    expected.insert(2, "https://news.test/br.html")
    assert [i["source"] for i in items] == expected
    assert {i["state"] for i in items} == {"queued"}
    sent = sorted(a["item_id"] for a in _sent(extract_queue))
    assert sent == [i["item_id"] for i in items]  # each record sent once
    assert seen[-1].done and seen[-1].skipped == {"truncated": 1}
    assert seen[-1].bytes_skipped == len(parts[5])
    assert resume_job("warcwhole01").archives == 0
