"""The README's Python example runs as written, feeds and sitemaps included.

The example is read from README.md itself, so the two cannot drift apart: its
``https://example.com`` becomes a path of the local web server, its ``example.com`` that
server's host, and it runs in a process of its own against the session's real workers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sluice.shared.states import FINAL_STATES
from tests.integration.conftest import Store, sample_page
from tests.support.cluster import Cluster
from tests.support.feeds import rss, urlset
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
XML = "application/xml"
OFF_DOMAIN = "https://elsewhere.test/x.html"  # left out by the door, never fetched


def readme_example() -> str:
    """The README's Python block that imports from ``sluice.producers``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    found = [block for block in blocks if "from sluice.producers import" in block]
    assert len(found) == 1, "the README has one Python example of the producers"
    return found[0]


def _final_items(store: Store, job_id: str, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        items = store.items(job_id)
        if items and all(item["state"] in FINAL_STATES for item in items):
            return items
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} not final: {[i['state'] for i in items]}")
        time.sleep(0.2)


def test_the_readme_python_example_runs_as_written(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    p = f"/{uuid.uuid4().hex[:8]}"
    article = web.route(f"{p}/news/a.html", Response(body=sample_page("belgorod-euro-canals.html")))
    other = web.route(
        f"{p}/news/b.html", Response(body=sample_page("belgorod-lowland-ledger.html"))
    )
    old = web.url(f"{p}/news/old.html")
    feed = rss([(article, "Fri, 20 Nov 2026 08:00:00 GMT"), (old, "Thu, 01 Oct 2026 08:00:00 GMT")])
    web.route(f"{p}/rss.xml", Response(body=feed, content_type=XML))
    web.route(f"{p}/sitemap.xml", Response(body=urlset([other, OFF_DOMAIN]), content_type=XML))

    host = urlsplit(web.base_url).hostname or ""
    code = readme_example().replace("https://example.com", web.base_url + p)
    code = code.replace("example.com", host)
    assert "example.com" not in code
    report = (
        "import json\nprint(json.dumps({'job': job, 'links': links, 'done': done.job_id, "
        "'skipped': done.skipped, 'problems': len(done.problems)}))\n"
    )
    # Should the example hang, every thread's stack goes to stderr before the timeout: the
    # failure then says what it waited for.
    watchdog = "import faulthandler\nfaulthandler.dump_traceback_later(100, exit=True)\n"
    run = subprocess.run(
        [sys.executable, "-c", watchdog + code + report],
        env=workers.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr + workers.logs()
    result = json.loads(run.stdout.splitlines()[-1])

    assert result["links"] == [article, old]
    assert (result["skipped"], result["problems"]) == (2, 0)
    first = _final_items(store, result["job"])
    assert sorted(item["kind"] for item in first) == ["text", "url"]
    assert all(item["state"] != "failed" for item in first), first
    done = {item["source"]: item for item in _final_items(store, result["done"])}
    assert set(done) == {article, other, old, OFF_DOMAIN}
    assert (done[old]["state"], done[old]["reason"]) == ("skipped", "filtered_date")
    assert (done[OFF_DOMAIN]["state"], done[OFF_DOMAIN]["reason"]) == ("skipped", "filtered_domain")
    assert done[article]["state"] != "failed" and done[other]["state"] != "failed", done
    assert f"{p}/news/old.html" not in web.hits  # left out at the door, never fetched
