"""Bad input: each item ends in a clear final state with a reason; no worker crashes."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.conftest import Store, sample_page
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(range(256)) * 8


def _pages(prefix: str) -> dict[str, Response]:
    article = sample_page("belgorod-euro-canals.html")
    words = "word " * (1024 * 1024)  # 5 MiB in one paragraph
    paragraph = f"<html><body><article><p>{words}</p></article></body></html>"
    nested = (
        "<html><body>"
        + "<div>" * 10_000
        + "<p>"
        + "Deep words. " * 40
        + "</p>"
        + "</div>" * 10_000
        + "</body></html>"
    )
    return {
        f"{prefix}/empty.html": Response(body=b""),
        f"{prefix}/garbage.html": Response(body=bytes(range(256)) * 64),
        f"{prefix}/photo.html": Response(body=JPEG),
        f"{prefix}/one-paragraph.html": Response(body=paragraph.encode()),
        f"{prefix}/nested.html": Response(body=nested.encode()),
        f"{prefix}/invalid-utf8.html": Response(
            body=article.replace(b"Denis Nikitin, leader", b"Denis Nikitin\xff\xfe, leader"),
        ),
        f"{prefix}/nul.html": Response(
            body=article.replace(
                b"The Russian Volunteer Corps also", b"The\x00 Russian Volunteer Corps also"
            ),
        ),
        f"{prefix}/with%20space.html": Response(body=sample_page("belgorod-lowland-ledger.html")),
    }


def test_every_bad_input_ends_in_a_clear_final_state(
    workers: Cluster, store: Store, web: WebServer, tmp_path
) -> None:
    prefix = f"/{uuid.uuid4().hex[:8]}"
    for path, response in _pages(prefix).items():
        web.route(path, response)
    urls = [web.url(path) for path in _pages(prefix)]
    urls[-1] = web.url(f"{prefix}/with space.html")  # submitted with a raw space
    urls += [f"ftp://127.0.0.1{prefix}/file.txt", web.url(f"{prefix}/" + "a" * 5000)]
    (tmp_path / "urls.txt").write_text("\n".join(urls))
    long_text = tmp_path / "long.txt"
    sentence = "Angela Merkel spoke in Berlin about the economy of Germany and France. "
    long_text.write_text((sentence * (2_000_000 // len(sentence) + 1))[:2_000_000])

    result = workers.sluice(
        "submit",
        "--file",
        str(tmp_path / "urls.txt"),
        "--text",
        str(long_text),
        "--wait",
        "--timeout",
        "240",
        timeout=300,
    )
    job_id = result.stdout.split()[0]
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)

    assert status["submitted"] == len(urls) + 1
    assert status["final"] == status["submitted"], workers.logs()
    ended = {
        item["source"] or "text": (item["state"], item["reason"]) for item in store.items(job_id)
    }
    by_name = {source.rsplit("/", 1)[-1][:20]: outcome for source, outcome in ended.items()}
    assert by_name["empty.html"] == ("failed", "extract_empty")
    assert by_name["garbage.html"] == ("failed", "extract_empty")
    assert by_name["photo.html"] == ("failed", "extract_empty")
    assert by_name["one-paragraph.html"] == ("failed", "too_large_to_extract")
    assert by_name["nested.html"][0] in ("stored", "failed")
    assert by_name["invalid-utf8.html"] == ("stored", None)
    assert by_name["nul.html"][0] == "duplicate" or by_name["nul.html"] == ("stored", None)
    assert by_name["with space.html"][0] in ("stored", "duplicate")
    assert by_name["file.txt"] == ("failed", "unsupported_scheme")
    assert by_name["a" * 20] == ("failed", "url_too_long")
    assert all(reason != "internal_error" for _, reason in ended.values())

    text_item = next(i for i in store.items(job_id) if i["kind"] == "text")
    assert text_item["state"] == "stored"
    long_article = store.article(text_item["article_id"])
    assert len(long_article["text"]) == 2_000_000
    assert long_article["entities_truncated"] is True
    assert max(end for *_, end in store.entities(long_article["id"])) <= 200_000

    failures = json.loads(workers.sluice("failures", "list", "--job", job_id, "--json").stdout)
    assert {f["reason"] for f in failures} >= {
        "extract_empty",
        "too_large_to_extract",
        "unsupported_scheme",
        "url_too_long",
    }
    assert all(f["payload"]["job_id"] == job_id and f["stage"] for f in failures)
    # The workers are still healthy: a normal page goes through afterwards.
    web.route(f"{prefix}/after.html", Response(body=sample_page("belgorod-euro-canals.html")))
    again = workers.sluice(
        "submit", web.url(f"{prefix}/after.html"), "--refetch", "--wait", "--timeout", "60"
    )
    assert again.returncode == 0, again.stderr
