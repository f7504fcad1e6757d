"""The one redirect loop every fetch follows: where a chain goes, where it stops, and that
each hop is requested once, in order, by whatever sends the requests."""

from __future__ import annotations

import itertools

import pytest

from sluice.shared.errors import PermanentError
from sluice.workers.fetching.redirects import Redirect, follow, next_hop


def _chain(*urls: str) -> dict[str, str | Redirect]:
    """Each URL redirects to the next; the last answers with its own name."""
    answers: dict[str, str | Redirect] = {
        url: Redirect(url, 302, after) for url, after in itertools.pairwise(urls)
    }
    answers[urls[-1]] = f"page at {urls[-1]}"
    return answers


def test_an_answer_that_is_not_a_redirect_is_returned_after_one_request() -> None:
    asked: list[str] = []

    def request(url: str) -> str | Redirect:
        asked.append(url)
        return "page"

    assert follow(request, "http://a.test/", 5) == "page"
    assert asked == ["http://a.test/"]


def test_each_hop_is_requested_in_order_up_to_the_limit() -> None:
    urls = [f"http://h{n}.test/" for n in range(4)]  # three redirects
    answers = _chain(*urls)
    asked: list[str] = []

    def request(url: str) -> str | Redirect:
        asked.append(url)
        return answers[url]

    assert follow(request, urls[0], 3) == "page at http://h3.test/"
    assert asked == urls


def test_one_redirect_past_the_limit_is_too_many_and_its_target_is_not_requested() -> None:
    urls = [f"http://h{n}.test/" for n in range(4)]
    answers = _chain(*urls)
    asked: list[str] = []

    def request(url: str) -> str | Redirect:
        asked.append(url)
        return answers[url]

    with pytest.raises(PermanentError) as caught:
        follow(request, urls[0], 2)
    assert caught.value.reason == "too_many_redirects"
    assert asked == urls[:3]


def test_a_loop_of_redirects_ends_at_the_limit() -> None:
    asked: list[str] = []

    def request(url: str) -> str | Redirect:
        asked.append(url)
        return Redirect(url, 301, "http://b.test/" if url == "http://a.test/" else "http://a.test/")

    with pytest.raises(PermanentError) as caught:
        follow(request, "http://a.test/", 5)
    assert caught.value.reason == "too_many_redirects"
    assert len(asked) == 6  # the first request and five redirects followed


def test_zero_redirects_allowed_refuses_the_first() -> None:
    with pytest.raises(PermanentError):
        follow(lambda url: Redirect(url, 307, "http://b.test/"), "http://a.test/", 0)


def test_a_request_error_ends_the_chain_with_that_error() -> None:
    def request(url: str) -> str | Redirect:
        if url == "http://b.test/":
            raise PermanentError("http_404", url)
        return Redirect(url, 302, "http://b.test/")

    with pytest.raises(PermanentError) as caught:
        follow(request, "http://a.test/", 5)
    assert caught.value.reason == "http_404"


def test_next_hop_counts_redirects_made_so_far() -> None:
    hop = Redirect("http://a.test/", 308, "http://b.test/x")
    assert next_hop(hop, 0, 1) == "http://b.test/x"
    assert next_hop(hop, 4, 5) == "http://b.test/x"
    with pytest.raises(PermanentError) as caught:
        next_hop(hop, 5, 5)
    assert caught.value.reason == "too_many_redirects"
    assert "more than 5" in caught.value.detail
