"""``sluice submit --warc`` end to end: real workers store what an archive holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.warcs import article_html, no_http_headers, record, truncated, warc

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
