"""End to end: ``sluice submit --wait`` against real workers, then what the store holds."""

from __future__ import annotations

import json
import time

import pytest

from sluice.shared.db.schema import articles
from tests.integration.conftest import Store
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

BOILERPLATE = (
    "Related stories",
    "Subscribe to the Euro Canals",
    "All rights reserved",
    "Privacy policy",
    "Breaking: Markets rally",
    "Most read",
    "Copyright 2023 Lowland Ledger",
    "Share this",
)


def submit(workers: Cluster, *args: str) -> tuple[str, int, dict]:
    result = workers.sluice("submit", *args, "--wait", "--timeout", "120")
    assert result.returncode in (0, 1), result.stderr + workers.logs()
    job_id = result.stdout.split()[0]
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)
    return job_id, result.returncode, status


def test_sample_article_is_extracted_tagged_and_stored(
    workers: Cluster, store: Store, site: dict[str, str]
) -> None:
    job_id, code, status = submit(workers, site["article"])

    assert code == 0
    assert status["states"] == {"stored": 1}
    (item,) = store.items(job_id)
    article = store.article(item["article_id"])
    assert article["title"].startswith("Putin’s soldiers “panicked and hid”")
    assert article["sitename"] == "Euro Canals News"
    # Its article:published_time, offset kept; the byline's name.
    assert (article["date"], article["author"]) == (
        "2023-05-27T09:30:00+00:00",
        "Euro Canals World Desk",
    )
    assert article["text"].startswith("soldiers “panicked and hid in landings")
    assert article["text"].endswith("staging attacks on Russian soil.")
    for phrase in BOILERPLATE:
        assert phrase not in article["text"]
    found = {(text, label) for text, label, _, _ in store.entities(article["id"])}
    assert {
        ("Putin", "PERSON"),
        ("Denis Nikitin", "PERSON"),
        ("Telegram", "ORG"),
        ("Ukraine", "GPE"),
    } <= found
    assert any("Financial Times" in text and label == "ORG" for text, label in found)
    for text, _label, start, end in store.entities(article["id"]):
        assert article["text"][start:end] == text


def test_resubmission_and_second_layout_are_recorded_as_duplicates(
    workers: Cluster, store: Store, site: dict[str, str]
) -> None:
    first_job, _, first = submit(workers, site["article"])
    assert first["states"] == {"stored": 1}
    original_id = store.items(first_job)[0]["article_id"]

    job_id, code, status = submit(workers, site["article"], site["syndicated"])

    assert code == 0
    assert status["states"] == {"duplicate": 2}
    again, syndicated = store.items(job_id)
    assert again["duplicate_of"] == original_id
    assert again["article_id"] == original_id  # the same page: no second row
    copy = store.article(syndicated["article_id"])
    assert copy["duplicate_of"] == original_id  # another page, same text: recorded
    assert copy["sitename"] == "Lowland Ledger"
    assert copy["similarity"] == 1.0
    assert store.entities(copy["id"]) == []  # duplicates skip tagging
    assert store.article(original_id)["duplicate_of"] is None
    stored = store.articles_where(articles.c.canonical_url.like(f"%{site['prefix']}%"))
    assert len(stored) == 2
    # Each job lists its own items' articles: the page submitted again is the second job's
    # duplicate of the stored one, and the first job still has it as its original.
    for job, expected in ((first_job, {original_id: None}), (job_id, {original_id: original_id})):
        listed = json.loads(workers.sluice("articles", "list", "--job", job, "--json").stdout)
        if job == job_id:
            expected[copy["id"]] = original_id
        assert {a["id"]: a["duplicate_of"] for a in listed} == expected
        assert store.article(original_id)["job_id"] == first_job


def test_racing_copies_yield_exactly_one_original(
    workers: Cluster, store: Store, site: dict[str, str]
) -> None:
    urls = [site["article"], site["syndicated"]] * 3
    job_id, code, status = submit(workers, *urls)

    assert code == 0
    assert status["states"] == {"stored": 1, "duplicate": 5}
    (original,) = [i for i in store.items(job_id) if i["state"] == "stored"]
    for item in store.items(job_id):
        if item["state"] == "duplicate":
            # A re-submission that raced its owner may point at the owner, itself a copy.
            target = store.article(item["duplicate_of"])
            assert original["article_id"] in (target["id"], target["duplicate_of"])
    stored = store.articles_where(articles.c.canonical_url.like(f"%{site['prefix']}%"))
    assert sorted(a["duplicate_of"] is None for a in stored) == [False, True]


def test_missing_page_fails_with_its_reason(
    workers: Cluster, store: Store, site: dict[str, str]
) -> None:
    job_id, code, status = submit(workers, site["missing"], site["article"])

    assert code == 1  # --wait exits non-zero when an item failed
    assert status["states"] == {"failed": 1, "stored": 1}
    failed = [i for i in store.items(job_id) if i["state"] == "failed"]
    assert failed[0]["reason"] == "http_404"
    assert failed[0]["source"] == site["missing"]


def test_raw_text_is_tagged_and_stored(workers: Cluster, store: Store, tmp_path) -> None:
    text = tmp_path / "note.txt"
    text.write_text(
        "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the future of "
        "the European Union. Siemens and Airbus executives joined the talks, according to "
        "Reuters. The leaders agreed to meet again in Berlin next month."
    )
    job_id, code, status = submit(workers, "--text", str(text), "--title", "A meeting")

    assert code == 0
    assert status["states"] == {"stored": 1}
    article = store.article(store.items(job_id)[0]["article_id"])
    assert article["title"] == "A meeting"
    assert article["url"] is None
    labels = {(t, lab) for t, lab, _, _ in store.entities(article["id"])}
    assert ("Angela Merkel", "PERSON") in labels
    assert ("Paris", "GPE") in labels


def test_feed_and_sitemap_expand_to_their_pages(
    workers: Cluster, store: Store, web, site: dict[str, str]
) -> None:
    from tests.support.web import Response

    prefix = site["prefix"]
    feed = web.route(
        f"{prefix}/feed.xml",
        Response(
            body=(
                '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
                f'<entry><title>a</title><link href="{site["article"]}"/></entry>'
                f'<entry><title>b</title><link href="{site["syndicated"]}"/></entry></feed>'
            ).encode(),
            content_type="application/atom+xml",
        ),
    )
    web.route(
        f"{prefix}/sitemap-pages.xml",
        Response(
            body=(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{site['missing']}</loc></url></urlset>"
            ).encode(),
            content_type="application/xml",
        ),
    )
    index = web.route(
        f"{prefix}/sitemap.xml",
        Response(
            body=(
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{web.url(prefix + '/sitemap-pages.xml')}</loc></sitemap>"
                "</sitemapindex>"
            ).encode(),
            content_type="application/xml",
        ),
    )

    job_id, _, status = submit(workers, "--feed", feed, "--sitemap", index)

    assert [i["source"] for i in store.items(job_id)] == [
        site["article"],
        site["syndicated"],
        site["missing"],
    ]
    assert status["states"] == {"stored": 1, "duplicate": 1, "failed": 1}
    assert status["missing"] == 0


def test_articles_commands_show_records_with_their_field_names(
    workers: Cluster, store: Store, site: dict[str, str]
) -> None:
    job_id, _, _ = submit(workers, site["article"], site["syndicated"])

    listed = json.loads(workers.sluice("articles", "list", "--job", job_id, "--json").stdout)
    assert len(listed) == 2
    original = next(a for a in listed if a["duplicate_of"] is None)
    other = next(a for a in listed if a["duplicate_of"] is not None)
    shown = json.loads(workers.sluice("articles", "show", original["id"], "--json").stdout)
    for field in (
        "id",
        "url",
        "canonical_url",
        "title",
        "author",
        "date",
        "sitename",
        "language",
        "description",
        "text",
        "entities",
        "duplicate_of",
        "timings",
        "job_id",
    ):
        assert field in shown
    assert {"text", "label", "start", "end"} <= set(shown["entities"][0])
    assert [d["id"] for d in shown["duplicates"]] == [
        a["id"] for a in listed if a["duplicate_of"] == original["id"]
    ]
    assert set(shown["timings"]) >= {"fetch", "extract", "dedup", "tag"}
    by_url = json.loads(workers.sluice("articles", "show", other["url"], "--json").stdout)
    assert by_url["id"] == other["id"]


def test_a_new_feed_is_polled_within_a_minute_of_feeds_add(
    workers: Cluster, store: Store, web, site: dict[str, str]
) -> None:
    """On the product's default schedule (SLUICE_FEED_MIN_INTERVAL 300 s, which used to
    spread first polls over five minutes), the fetch workers poll a new feed at once."""
    from tests.support.web import Response

    feed = web.route(
        f"{site['prefix']}/first-poll.xml",
        Response(
            body=(
                '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
                f'<entry><title>a</title><link href="{site["article"]}"/></entry></feed>'
            ).encode(),
            content_type="application/atom+xml",
        ),
    )
    added = workers.sluice("feeds", "add", feed, "--json")
    assert added.returncode == 0, added.stderr
    (registered,) = json.loads(added.stdout)["registered"]
    deadline = time.monotonic() + 60
    try:
        while not store.items(registered["job"]):
            assert time.monotonic() < deadline, "no first poll within a minute\n" + workers.logs()
            time.sleep(0.5)
    finally:
        workers.sluice("feeds", "remove", str(registered["id"]))
    (item,) = store.items(registered["job"])
    assert item["source"] == site["article"]
