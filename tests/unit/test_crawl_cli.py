"""``sluice submit --crawl``: its options, their defaults (the same as the crawl's own), and
a bad crawl refused before anything is recorded."""

from __future__ import annotations

import pytest

from sluice.cli import submit
from sluice.cli.main import build_parser, main
from sluice.workers.crawl import scope


def test_the_cli_defaults_are_the_crawls() -> None:
    assert submit.SCOPES == scope.SCOPES
    assert submit.DEFAULT_DEPTH == scope.DEFAULT_DEPTH
    assert submit.DEFAULT_MAX_PAGES == scope.DEFAULT_MAX_PAGES
    assert submit.DEFAULT_MAX_PER_PATTERN == scope.DEFAULT_MAX_PER_PATTERN


def test_crawl_options_parse() -> None:
    argv = "submit --crawl http://a.test/ http://b.test/x/ --scope prefix --depth 2"
    argv += " --max-pages 9 --include /x/ --exclude a --exclude b"
    args = build_parser().parse_args(argv.split())
    assert args.crawl == ["http://a.test/", "http://b.test/x/"]
    assert (args.scope, args.depth, args.max_pages) == ("prefix", 2, 9)
    assert (args.include, args.exclude) == (["/x/"], ["a", "b"])


@pytest.mark.parametrize(
    "argv",
    [
        "submit --crawl ftp://a.test/",  # not an http(s) seed
        "submit --crawl http://a.test/ --include (",  # not a regex
        "submit http://c.test/article --crawl http://a.test/",  # a crawl is a job of its own
    ],
)
def test_a_bad_crawl_is_refused_before_anything_is_recorded(
    argv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv.split()) == submit.EXIT_BAD_INPUT
    assert "crawl" in capsys.readouterr().err


def test_a_negative_depth_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["submit", "--crawl", "http://a.test/", "--depth", "-1"])
    assert exit_.value.code == 2
