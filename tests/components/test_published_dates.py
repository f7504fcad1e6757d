"""A publication date with its time and offset survives the store and export unchanged, and
still belongs to its calendar day for ``--since``/``--until``; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sluice.shared.article import Article
from sluice.shared.export import ExportFilter, export_pages
from sluice.shared.jobs import ItemSpec, create_job
from sluice.workers.stages.extract import extract
from sluice.workers.stages.store import store

PAGE = (
    "<html><head><title>Harbour plan approved | The Ledger</title>"
    '<meta property="og:site_name" content="The Ledger">'
    '<meta property="article:published_time" content="2026-02-03T23:30:00-05:00">'
    '<meta name="author" content="By Jane Doe and John Roe, Reuters">'
    "</head><body><h1>Harbour plan approved</h1><p>"
    + "The council met on Tuesday and voted on the harbour plan. " * 8
    + "</p></body></html>"
)


def test_the_extracted_date_with_its_offset_is_stored_and_exported(database_url: str) -> None:
    job = uuid.uuid4().hex[:12]
    create_job(job, [ItemSpec("url", "https://ledger.example/plan")])
    article = extract(Article(job_id=job, item_id=0, url="https://ledger.example/plan"), PAGE)
    assert article.date == "2026-02-03T23:30:00-05:00"
    store(article, database_url)

    def exported(**where: str) -> list[dict[str, object]]:
        return [row for page in export_pages(ExportFilter(job=job, **where)) for row in page]

    [row] = exported()
    assert (row["title"], row["author"]) == ("Harbour plan approved", "Jane Doe; John Roe")
    assert row["published"] == "2026-02-03T23:30:00-05:00"
    # The day the page gives (in UTC it is already the 4th).
    assert len(exported(since="2026-02-03", until="2026-02-03")) == 1
    assert exported(since="2026-02-04") == []
