"""Work a stage creates, as its outcome carries it (shared.outcomes.NewUrl), and the frontier
entry it becomes (workers.fetching.frontier.arrival_of): provenance and priority."""

from __future__ import annotations

from sluice.shared.article import Article
from sluice.shared.outcomes import Final, Forward, NewUrl
from sluice.shared.states import State
from sluice.workers.fetching.frontier import Arrival, arrival_of


def test_a_found_url_names_the_job_item_and_depth_that_found_it() -> None:
    page = Article("job1", 4, url="http://127.0.0.2/index.html")
    new = NewUrl.found_in(page, "http://127.0.0.2/a.html", priority=6)
    assert new == NewUrl("http://127.0.0.2/a.html", "job1", 4, depth=1, priority=6)


def test_depth_grows_by_one_at_each_step() -> None:
    found = Article("job1", 9, url="http://127.0.0.2/a.html", found_by=4, depth=1)
    assert NewUrl.found_in(found, "http://127.0.0.2/b.html").depth == 2


def test_outcomes_carry_no_work_unless_given() -> None:
    assert Forward().found == () and Final(State.STORED).found == ()
    new = NewUrl("http://127.0.0.2/x", "j", 0)
    assert Forward("store", found=(new,)).found == (new,)


def test_provenance_travels_with_the_article() -> None:
    article = Article("j", 2, url="http://127.0.0.2/x", found_by=0, depth=3)
    assert Article.from_dict(article.to_dict()) == article
    # Older messages, without the fields, are submitted items.
    assert Article.from_dict({"job_id": "j", "item_id": 1}).depth == 0


def test_an_article_enters_the_frontier_as_its_item_at_its_host() -> None:
    payload = Article("j", 2, url="http://127.0.0.2/x").to_dict()
    assert arrival_of(payload, 5) == Arrival("j:2", "http://127.0.0.2/x", payload, 5)
    assert arrival_of({"job_id": "j", "item_id": 3}).url == ""
