"""A hostile corpus against real workers: every case ends with its reason and exit code.

One worker cluster serves the whole table (module scope). Loopback 127.0.0.2-.8 are
allowed hosts; 127.0.0.9 stands for a forbidden address and must never see a request.
Each row: (case, input, expected reason, expected exit code); the README lists them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.cli.errors import EXIT_INPUT_FILE, EXIT_SOME_SOURCES_FAILED
from tests.integration.conftest import Store, sample_page
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

ALLOWED = "127.0.0.2/32,127.0.0.3/32,127.0.0.4/32,127.0.0.6/32,127.0.0.7/32"
XML = "application/xml"
STORED = "stored"  # the item is stored (or a duplicate of a stored one): no reason
EXIT_ITEMS_FAILED = 1
EXIT_USAGE = 2


@pytest.fixture(scope="module")
def hosts() -> Iterator[dict[str, WebServer]]:
    servers = {
        name: WebServer(f"127.0.0.{n}")
        for name, n in (
            ("main", 2),
            ("robots_no", 3),
            ("robots_redirect", 4),
            ("robots_garbage", 6),
            ("robots_bad_location", 7),
            ("forbidden", 9),
        )
    }
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="module")
def corpus_cluster(
    redis_provider: RedisProvider, sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    env = {
        "SLUICE_FETCH_ALLOW_NETWORKS": ALLOWED,
        "SLUICE_FETCH_HOST_RATE": "0",
        "SLUICE_FETCH_MAX_BYTES": str(1024 * 1024),
        "SLUICE_FETCH_MAX_RETRIES": "0",
        "SLUICE_TAG_MAX_CHARS": "20000",
    }
    redis_url = redis_provider.acquire()
    cluster = Cluster(redis_url, sqlite_url, tmp_path_factory.mktemp("corpus"), env)
    cluster.start_worker()
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()
        redis_provider.release(redis_url)


def _url_cases(h: dict[str, WebServer], p: str) -> list[tuple[str, str, str]]:
    """(case, URL, expected reason) for items fetched by the workers."""
    main, bad = h["main"], h["forbidden"]
    page = sample_page("belgorod-euro-canals.html")
    main.route(f"{p}/ok.html", Response(body=page))
    main.route(f"{p}/to-octal", Response(302, headers={"Location": "http://0177.0.0.1/x"}))
    main.route(f"{p}/to-v6", Response(302, headers={"Location": "http://[::1/x"}))
    main.route(f"{p}/to-space", Response(301, headers={"Location": "http://a b/x"}))
    main.route(f"{p}/to-forbidden", Response(302, headers={"Location": bad.url("/secret")}))
    main.route(f"{p}/to-ftp", Response(302, headers={"Location": "ftp://127.0.0.2/f"}))
    main.route(f"{p}/to-port", Response(307, headers={"Location": "http://127.0.0.2:70000/"}))
    main.route(f"{p}/loop", Response(302, headers={"Location": f"{p}/loop"}))
    main.route(f"{p}/no-location", Response(302))
    main.route(f"{p}/gone", Response(410))
    main.route(f"{p}/photo.jpg", Response(body=b"\xff\xd8\xff" * 100, content_type="image/jpeg"))
    main.route(f"{p}/empty.html", Response(body=b""))
    main.route(f"{p}/huge.html", Response(body=b"<p>" + b"x" * (2 * 1024 * 1024)))
    main.route(
        f"{p}/hostile.html",
        # In <title> and <h1>: the stored headline is the <h1> when its metadata agrees.
        Response(
            body=page.replace(b"<title>", b"<title>[/quote][bold]\x1b[31m").replace(
                b"<h1>", b"<h1>[/quote][bold]\x1b[31m"
            )
        ),
    )
    h["robots_no"].route(
        "/robots.txt", Response(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    )
    h["robots_no"].route(f"{p}/a.html", Response(body=page))
    h["robots_redirect"].route(
        "/robots.txt", Response(302, headers={"Location": bad.url("/robots.txt")})
    )
    h["robots_redirect"].route(
        f"{p}/a.html", Response(body=sample_page("belgorod-lowland-ledger.html"))
    )
    h["robots_garbage"].route(
        "/robots.txt", Response(body=bytes(range(256)) * 40, content_type="text/plain")
    )
    h["robots_garbage"].route(f"{p}/a.html", Response(body=page))
    h["robots_bad_location"].route(
        "/robots.txt", Response(302, headers={"Location": "http://0x7f.1/r"})
    )
    h["robots_bad_location"].route(f"{p}/a.html", Response(body=page))
    port = main.base_url.rsplit(":", 1)[1]
    return [
        ("octal host", "http://0177.0.0.1/a", "invalid_url"),
        ("hex host", "http://0x7f.0.0.1/a", "invalid_url"),
        ("decimal host", "http://2130706433/a", "invalid_url"),
        ("short dotted host", "http://127.1/a", "invalid_url"),
        ("five-part host", "http://127.0.0.0.2/a", "invalid_url"),
        ("unclosed IPv6", "http://[::1/a", "invalid_url"),
        ("port out of range", "http://127.0.0.2:99999/a", "invalid_url"),
        ("non-numeric port", "http://127.0.0.2:http/a", "invalid_url"),
        ("space in host", "http://127.0.0.2 .example/a", "invalid_url"),
        ("percent-encoded host", "http://%31%32%37.0.0.2/a", "invalid_url"),
        ("empty host", "http:///a", "invalid_url"),
        ("empty label", "http://a..example/a", "invalid_url"),
        ("bad punycode", "http://xn--/a", "invalid_url"),
        ("ftp scheme", "ftp://127.0.0.2/f", "unsupported_scheme"),
        ("javascript scheme", "javascript:alert(1)", "unsupported_scheme"),
        ("file scheme", "file:///etc/passwd", "unsupported_scheme"),
        ("too long", main.url("/" + "a" * 3000), "url_too_long"),
        ("forbidden address", bad.url("/secret"), "blocked_address"),
        ("forbidden by name", f"http://localhost:{port}/x", "blocked_address"),
        ("forbidden IPv6 loopback", f"http://[::1]:{port}/x", "blocked_address"),
        ("redirect to octal host", main.url(f"{p}/to-octal"), "bad_redirect"),
        ("redirect to broken IPv6", main.url(f"{p}/to-v6"), "bad_redirect"),
        ("redirect to spaced host", main.url(f"{p}/to-space"), "bad_redirect"),
        ("redirect to bad port", main.url(f"{p}/to-port"), "bad_redirect"),
        ("redirect to forbidden", main.url(f"{p}/to-forbidden"), "blocked_address"),
        ("redirect to ftp", main.url(f"{p}/to-ftp"), "unsupported_scheme"),
        ("redirect loop", main.url(f"{p}/loop"), "too_many_redirects"),
        ("redirect without Location", main.url(f"{p}/no-location"), "http_302"),
        ("missing page", main.url(f"{p}/missing.html"), "http_404"),
        ("gone page", main.url(f"{p}/gone"), "http_410"),
        ("image", main.url(f"{p}/photo.jpg"), "not_html"),
        ("empty page", main.url(f"{p}/empty.html"), "extract_empty"),
        ("page over the size cap", main.url(f"{p}/huge.html"), "too_large"),
        ("robots.txt disallows", h["robots_no"].url(f"{p}/a.html"), "robots_disallowed"),
        ("robots.txt redirects to forbidden", h["robots_redirect"].url(f"{p}/a.html"), STORED),
        ("robots.txt is binary garbage", h["robots_garbage"].url(f"{p}/a.html"), STORED),
        ("robots.txt redirects to bad URL", h["robots_bad_location"].url(f"{p}/a.html"), STORED),
        ("hostile title is stored", main.url(f"{p}/hostile.html"), STORED),
        ("control: a good page", main.url(f"{p}/ok.html"), STORED),
    ]


def _ended(store: Store, job_id: str) -> dict[str, str]:
    out = {}
    for item in store.items(job_id):
        state, reason = item["state"], item["reason"]
        out[item["source"]] = STORED if state in ("stored", "duplicate") else (reason or state)
    return out


def test_hostile_corpus(
    corpus_cluster: Cluster, hosts: dict[str, WebServer], tmp_path: Path
) -> None:
    c, h = corpus_cluster, hosts
    store = Store(c.database_url)
    p = f"/{uuid.uuid4().hex[:8]}"
    table: list[tuple[str, str, str, int]] = []
    # --- URL forms, redirects, robots.txt, pages: one job, real workers -------------------
    cases = _url_cases(h, p)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(url for _, url, _ in cases), encoding="utf-8")
    result = c.sluice("submit", "--file", str(listing), "--wait", "--timeout", "120", "--json")
    assert result.returncode == EXIT_ITEMS_FAILED, result.stderr + c.logs()
    job_id = json.loads(result.stdout)["job"]
    ended = _ended(store, job_id)
    for case, url, reason in cases:
        assert ended[url.strip()] == reason, (case, url, ended[url.strip()], c.logs())
        table.append((case, url, reason, EXIT_ITEMS_FAILED))

    # --- feeds and sitemaps -----------------------------------------------------------------
    main = h["main"]
    good = main.route(
        f"{p}/good.xml", Response(body=_rss([main.url(f"{p}/ok.html")]), content_type=XML)
    )
    main.route(
        f"{p}/garbage-feed", Response(body=b"\x00\x01 not a feed", content_type="text/plain")
    )
    main.route(f"{p}/broken.xml", Response(body=b"<urlset><url><loc>x</loc>", content_type=XML))
    main.route(f"{p}/bomb.xml", Response(body=_LAUGHS, content_type=XML))
    main.route(
        f"{p}/deep0.xml", Response(body=_index([main.url(f"{p}/deep1.xml")]), content_type=XML)
    )
    main.route(
        f"{p}/deep1.xml", Response(body=_index([main.url(f"{p}/deep2.xml")]), content_type=XML)
    )
    sources = [
        ("feed that is missing", ["--feed", main.url(f"{p}/nofeed.xml")], "http_404"),
        ("feed that is not a feed", ["--feed", main.url(f"{p}/garbage-feed")], "not_a_feed"),
        ("feed on an octal host", ["--feed", "http://0177.0.0.1/feed"], "invalid_url"),
        ("feed on a forbidden address", ["--feed", h["forbidden"].url("/feed")], "blocked_address"),
        ("sitemap with broken XML", ["--sitemap", main.url(f"{p}/broken.xml")], "bad_sitemap"),
        ("sitemap entity bomb", ["--sitemap", main.url(f"{p}/bomb.xml")], "bad_sitemap"),
        ("sitemap index too deep", ["--sitemap", main.url(f"{p}/deep0.xml")], "expand_limit"),
    ]
    shallow = {**c.env, "SLUICE_EXPAND_MAX_DEPTH": "1"}
    for case, args, reason in sources:
        result = c.run_with(shallow, "submit", "--feed", good, *args, "--json")
        assert result.returncode == EXIT_SOME_SOURCES_FAILED, (case, result.stderr)
        job = json.loads(result.stdout)["job"]
        reasons = {i["reason"] for i in store.items(job) if i["kind"] != "url"}
        assert reasons == {reason}, (case, reasons, result.stderr)
        assert any(i["kind"] == "url" for i in store.items(job)), case  # the good feed's URL
        table.append((case, " ".join(args), reason, EXIT_SOME_SOURCES_FAILED))

    # --- input files ------------------------------------------------------------------------
    files = tmp_path / "files"
    files.mkdir()
    (files / "bom-crlf.txt").write_bytes(
        b"\xef\xbb\xbf" + f"{main.url(f'{p}/ok.html')}\r\n  # note\r\n\r\n".encode()
    )
    (files / "latin1.txt").write_bytes(f"# café\n{main.url(f'{p}/ok.html')}\n".encode("latin-1"))
    (files / "utf16.txt").write_bytes(f"{main.url(f'{p}/ok.html')}\n".encode("utf-16"))
    (files / "bad.txt").write_bytes(b"caf\xe9 caf\xe9")
    inputs = [
        ("file with BOM, CRLF, indented comment", ["--file", str(files / "bom-crlf.txt")], "", 0),
        ("Latin-1 file", ["--file", str(files / "latin1.txt")], "", 0),
        ("UTF-16 file", ["--file", str(files / "utf16.txt")], "", 0),
        ("missing file", ["--file", str(files / "nope.txt")], "unreadable_file", EXIT_INPUT_FILE),
        ("directory as file", ["--file", str(files)], "unreadable_file", EXIT_INPUT_FILE),
        (
            "text not in the given encoding",
            ["--text", str(files / "bad.txt"), "--encoding", "ascii"],
            "bad_encoding",
            EXIT_INPUT_FILE,
        ),
        (
            "unknown encoding",
            ["--text", str(files / "bad.txt"), "--encoding", "klingon"],
            "bad_encoding",
            EXIT_INPUT_FILE,
        ),
    ]
    for case, args, reason, code in inputs:
        result = c.sluice("submit", *args, "--json")
        assert result.returncode == code, (case, result.stderr)
        if code == 0:
            job = json.loads(result.stdout)["job"]
            assert [i["source"] for i in store.items(job)] == [main.url(f"{p}/ok.html")], case
        else:
            assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1, case
        table.append((case, " ".join(args), reason or "(submitted)", code))

    # --- stored data, settings, exposure ----------------------------------------------------
    checks = [
        ("hostile title in articles list", c.env, ["articles", "list", "--job", job_id], 0),
        (
            "hostile title in articles list --json",
            c.env,
            ["articles", "list", "--job", job_id, "--json"],
            0,
        ),
        ("hostile failures list", c.env, ["failures", "list", "--job", job_id], 0),
        (
            "bad SLUICE_FETCH_ALLOW_NETWORKS",
            {**c.env, "SLUICE_FETCH_ALLOW_NETWORKS": "10.0.0.0/33"},
            ["worker"],
            EXIT_USAGE,
        ),
        ("bad SLUICE_REDIS_URL", {**c.env, "SLUICE_REDIS_URL": "http://x"}, ["up"], EXIT_USAGE),
        (
            "metrics on 0.0.0.0 without --public",
            c.env,
            ["metrics", "--address", "0.0.0.0"],
            EXIT_USAGE,
        ),
        (
            "flower on 0.0.0.0 without a password",
            c.env,
            ["flower", "--address", "0.0.0.0"],
            EXIT_USAGE,
        ),
    ]
    for case, env, args, code in checks:
        result = c.run_with({**env, "COLUMNS": "300"}, *args)
        assert result.returncode == code, (case, result.stderr)
        assert "Traceback" not in result.stderr, case
        assert "\x1b" not in result.stdout, case
        table.append((case, " ".join(args), "-", code))

    # --- what must hold for the whole corpus -------------------------------------------------
    assert h["forbidden"].hits == [], "a forbidden address received a request"
    assert all(proc.poll() is None for proc in c.processes), "a worker died"
    again = c.sluice("submit", main.url(f"{p}/ok.html"), "--refetch", "--wait", "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert len(table) >= 40
    Path(c.data_dir / "corpus-table.json").write_text(json.dumps(table, indent=1))


def _rss(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return f'<rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()


def _index(children: list[str]) -> bytes:
    locs = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<sitemapindex xmlns="{ns}">{locs}</sitemapindex>'.encode()


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'.encode()
        for n in range(1, 10)
    )
    + b"]><urlset><url><loc>&lol9;</loc></url></urlset>"
)
