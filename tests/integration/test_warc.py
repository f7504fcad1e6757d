"""``sluice submit --warc`` end to end: real workers store what an archive holds."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.warcs import (
    article_html,
    claiming,
    damaged_whole_file_gzip,
    distinct_article_html,
    encoded,
    no_http_headers,
    raw_body_record,
    record,
    truncated,
    warc,
)

pytestmark = pytest.mark.integration

RUSSIAN = "Городской совет утвердил бюджет на следующий год, сообщил мэр города."


def test_a_warc_with_hostile_records_is_stored_and_accounted_for(
    workers: Cluster, store: Store, tmp_path: Path
) -> None:
    ru = article_html(71, extra=f"<p>{RUSSIAN}</p>").encode("cp1251")
    path = warc(
        tmp_path / "crawl.warc.gz",
        [
            record("https://warc.test/a.html", article_html(70), date="2026-11-30T08:00:00Z"),
            truncated("https://warc.test/cut.html", article_html(72)),
            record("https://warc.test/ru.html", ru, content_type="text/html; charset=windows-1251"),
            no_http_headers("https://warc.test/bare.html", article_html(73)),
            record(
                "https://warc.test/",
                b"GET /",
                rec_type="request",
                content_type="application/http; msgtype=request",
            ),
            record("https://warc.test/big.html", "<html><body>" + "<p>word</p>" * 1_200_000),
            record("https://warc.test/b.html", article_html(74)),
        ],
    )
    result = workers.sluice("submit", "--warc", path, "--wait", "--timeout", "120", "--json")
    assert result.returncode == 1, result.stderr + workers.logs()  # the too large page failed
    counts = json.loads(result.stdout)
    assert counts["states"] == {"stored": 3, "failed": 1}
    assert counts["reasons"] == {"too_large": 1}
    (archive,) = counts["archives"]
    assert archive["done"] and archive["records"] == 7
    assert archive["skipped"] == {"damaged": 1, "no_http_headers": 1, "request": 1}
    items = {i["source"]: i for i in store.items(counts["job"])}
    ru_article = store.article(items["https://warc.test/ru.html"]["article_id"])
    assert RUSSIAN in ru_article["text"]
    assert store.article(items["https://warc.test/a.html"]["article_id"])["url"] == (
        "https://warc.test/a.html"
    )


def test_a_tarball_given_as_a_warc_fails_with_its_reason(workers: Cluster, tmp_path: Path) -> None:
    import io
    import tarfile

    path = tmp_path / "crawl.tar"
    inner = record("https://warc.test/t.html", article_html(75))
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("crawl.warc.gz")
        info.size = len(inner)
        tar.addfile(info, io.BytesIO(inner))
    result = workers.sluice("submit", "--warc", str(path), "--wait", "--json")
    counts = json.loads(result.stdout)
    assert result.returncode == 1
    assert counts["states"] == {"failed": 1} and counts["reasons"] == {"not_warc": 1}


JAPANESE = "市議会は来年度の予算案を賛成多数で可決した。市長は新しい橋の建設に重点を置くと述べた。"


def test_hostile_archives_end_as_items_or_counts_and_the_workers_stay_up(
    workers: Cluster, store: Store, tmp_path: Path
) -> None:
    """Encoded bodies (br, zstd, chunked, stacked), a UTF-8 page labelled Latin-1, a body that
    breaks while decoding, a cut member and a length lie in one archive; a whole-file gzip
    damaged in its middle in another. The good records of both are stored."""

    def page(n: int, **options: object) -> bytes:
        html = distinct_article_html(n)
        return record(f"https://hostile.test/{n}.html", html, **options)  # type: ignore[arg-type]

    japanese = distinct_article_html(105, extra=f"<p>{JAPANESE}</p>" * 3).encode("utf-8")
    squeezed = gzip.compress(distinct_article_html(108).encode())
    broken = raw_body_record(
        "https://hostile.test/broken.html", squeezed[:300] + b"\0" * 64 + squeezed[364:], "gzip"
    )
    mixed = warc(
        tmp_path / "mixed.warc.gz",
        [
            page(100),
            encoded("https://hostile.test/br.html", distinct_article_html(101), "br"),
            encoded(
                "https://hostile.test/zstd.html", distinct_article_html(102), "zstd", chunked=True
            ),
            encoded("https://hostile.test/two.html", distinct_article_html(103), "gzip, br"),
            record(
                "https://hostile.test/ja.html",
                japanese,
                content_type="text/html; charset=iso-8859-1",
            ),
            broken,
            truncated("https://hostile.test/cut.html", distinct_article_html(106)),
            gzip.compress(
                claiming("https://hostile.test/lie.html", distinct_article_html(107), 90_000)
            ),
            page(104),
        ],
    )
    plain = [page(n, gzipped=False) for n in range(110, 122)]
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(damaged_whole_file_gzip(plain, at=0.6))

    result = workers.sluice(
        "submit", "--warc", mixed, str(whole), "--wait", "--timeout", "150", "--json", timeout=200
    )
    assert result.returncode == 1, result.stderr + workers.logs()  # the broken body failed
    counts = json.loads(result.stdout)
    workers.check_alive()
    items = {i["source"]: i for i in store.items(counts["job"])}
    assert items["https://hostile.test/broken.html"]["reason"] == "bad_encoding"
    stored = {s for s, i in items.items() if i["state"] == "stored"}
    assert {
        f"https://hostile.test/{name}.html" for name in (100, "br", "zstd", "two", "ja", 104)
    } <= stored
    from_whole = [f"https://hostile.test/{n}.html" for n in range(110, 122)]
    kept = [url for url in from_whole if url in stored]
    assert kept and kept == from_whole[: len(kept)] and len(kept) < len(from_whole)
    assert counts["states"] == {"stored": len(stored), "failed": 1}

    by_source = {Path(a["source"]).name: a for a in counts["archives"]}
    assert by_source["mixed.warc.gz"]["done"] and by_source["whole.warc.gz"]["done"]
    assert by_source["mixed.warc.gz"]["skipped"] == {"damaged": 1, "truncated": 1}
    assert by_source["mixed.warc.gz"]["bytes_skipped"] > 0
    assert by_source["whole.warc.gz"]["skipped"].get("damaged", 0) >= 1
    assert by_source["whole.warc.gz"]["bytes_skipped"] > 0

    ja = items["https://hostile.test/ja.html"]
    assert JAPANESE in store.article(ja["article_id"])["text"]
    assert "declared iso-8859-1 makes mojibake" in ja["detail"]
    assert "read as utf-8" in ja["detail"]
    for n, name in ((101, "br"), (102, "zstd"), (103, "two")):
        article = store.article(items[f"https://hostile.test/{name}.html"]["article_id"])
        assert article["title"].startswith(f"Report {n}: ")


def test_a_warc_ingested_twice_leaves_each_job_its_own_items(
    workers: Cluster, store: Store, tmp_path: Path
) -> None:
    """The second job's items are duplicates of what the first stored, and the first keeps
    everything: for both, `articles list --job` lists what `status` counts."""
    copy = article_html(81)
    path = warc(
        tmp_path / "again.warc.gz",
        [
            record("https://again.test/a.html", article_html(80)),
            record("https://again.test/b.html", copy),
            record("https://again.test/b-copy.html", copy),  # an exact duplicate of b
            record("https://again.test/c.html", article_html(82)),
        ],
    )
    jobs = []
    for _ in range(2):
        result = workers.sluice("submit", "--warc", path, "--wait", "--timeout", "120", "--json")
        assert result.returncode == 0, result.stderr + workers.logs()
        jobs.append(json.loads(result.stdout)["job"])
    first, second = jobs
    expected = {first: {"stored": 3, "duplicate": 1}, second: {"duplicate": 4}}
    for job in jobs:
        status = json.loads(workers.sluice("status", job, "--json").stdout)
        assert status["states"] == expected[job]
        listed = json.loads(workers.sluice("articles", "list", "--job", job, "--json").stdout)
        assert len(listed) == status["final"] == 4
        duplicates = [a for a in listed if a["duplicate_of"]]
        assert len(duplicates) == status["duplicates"]["total"] == expected[job]["duplicate"]
        assert status["duplicates"]["exact"] == len(duplicates)
        assert {a["job_id"] for a in listed} == {job}
    # Nothing moved: every article still belongs to the job that stored it.
    for item in store.items(first):
        assert store.article(item["article_id"])["job_id"] == first
    originals = {i["article_id"] for i in store.items(first) if i["state"] == "stored"}
    seconds = {i["article_id"]: i["duplicate_of"] for i in store.items(second)}
    assert originals <= set(seconds)
    assert all(seconds[a] == a for a in originals)  # the same page, submitted again
