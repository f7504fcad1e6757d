"""Figures of both runs as one JSON-ready dictionary, and as the text the benchmark prints."""

from __future__ import annotations

from typing import Any

from benchmarks.baseline import BaselineResult
from benchmarks.distributed import SluiceResult
from benchmarks.stats import percentile, summary
from sluice.workers.pipeline import STAGES

__all__ = ["STAGE_ORDER", "figures", "pace_by_tenth", "render"]

STAGE_ORDER = STAGES


def _ms(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Per stage: count, median, p95 in milliseconds and total in seconds."""
    out = {}
    for stage in sorted(samples, key=lambda s: (*STAGE_ORDER, s).index(s)):
        values = samples[stage]
        stats = summary(values)
        out[stage] = {
            "n": stats["n"],
            "median_ms": _round(stats["median"], 1000),
            "p95_ms": _round(stats["p95"], 1000),
            "total_s": _round(stats["total"]),
        }
    return out


def _round(value: Any, scale: float = 1.0, digits: int = 3) -> float | None:
    return None if value is None else round(float(value) * scale, digits)


def _latency(values: list[float]) -> dict[str, float | None]:
    return {"p50_s": _round(percentile(values, 0.5)), "p95_s": _round(percentile(values, 0.95))}


def pace_by_tenth(finished: list[float]) -> list[float | None]:
    """Articles per second in each tenth of the items, in the order they finished, from
    the seconds after the job's start at which each item finished."""
    times = sorted(finished)
    n = len(times)
    if n < 10:
        return []
    pace: list[float | None] = []
    previous_end, previous_count = 0.0, 0
    for tenth in range(1, 11):
        count = round(tenth * n / 10)
        end = times[count - 1]
        span = end - previous_end
        pace.append(round((count - previous_count) / span, 2) if span > 0 else None)
        previous_end, previous_count = end, count
    return pace


def ratio_by_part(
    sluice_articles: list[int],
    sluice_seconds: list[float],
    baseline_articles: list[int],
    baseline_seconds: list[float],
) -> list[float]:
    """Each sluice part's articles/s over that of the two baseline parts around it (the
    baseline runs one part more than sluice, before, between and after sluice's)."""
    if len(baseline_seconds) != len(sluice_seconds) + 1:
        return []
    ratios = []
    for n, (articles, seconds) in enumerate(zip(sluice_articles, sluice_seconds, strict=True)):
        around = sum(baseline_articles[n : n + 2]) / max(1e-9, sum(baseline_seconds[n : n + 2]))
        ratios.append(round(articles / max(1e-9, seconds) / around, 3))
    return ratios


def figures(
    setup: dict[str, Any],
    baseline: BaselineResult,
    sluice: SluiceResult,
    cpu_slots: int,
    quality: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured, JSON-serializable, for printing and for later comparison."""
    articles = setup["articles"]
    base_articles = setup.get("baseline_articles", articles)
    base_rate = base_articles / baseline.seconds
    sluice_rate = articles / sluice.seconds
    cpu_busy = sum(sum(v) for s, v in sluice.task_runtimes.items() if s != "fetch")
    return {
        **setup,
        "baseline": {
            "mode": "plain loop" if baseline.processes <= 1 else "process pool",
            "processes": baseline.processes,
            "seconds": round(baseline.seconds, 3),
            "part_seconds": [round(s, 3) for s in baseline.part_seconds],
            "part_articles": baseline.part_articles,
            "articles_per_second": round(base_rate, 3),
            "stages": _ms(baseline.stage_times),
            "articles": base_articles,
            "compute_s_per_article": _round(
                sum(sum(v) for v in baseline.stage_times.values()) / base_articles
            ),
            "model_load_s": [round(s, 3) for s in baseline.model_load],
            "cpu_s_per_article": _round(baseline.cpu_seconds / base_articles),
            "submit_to_stored": _latency(baseline.latencies),
            "states": baseline.states,
            "reasons": baseline.reasons,
            "store": baseline.store_url,
        },
        "sluice": {
            "seconds": round(sluice.seconds, 3),
            "submit_seconds": round(sluice.submit_seconds, 3),
            "part_seconds": [round(s, 3) for s in sluice.part_seconds],
            "part_articles": sluice.part_articles,
            "articles_per_second": round(sluice_rate, 3),
            "task_runtimes": _ms(sluice.task_runtimes),
            "stage_bodies": _ms(sluice.stage_bodies),
            "compute_s_per_article": _round(cpu_busy / articles),
            "cpu_slots": cpu_slots,
            "worker_cpu_s_per_article": _round(sluice.worker_cpu_seconds / articles),
            "producer_cpu_s_per_article": _round(sluice.producer_cpu_seconds / articles),
            "worker_cpu_s_per_article_by_process": {
                kind: _round(seconds / articles)
                for kind, seconds in sorted(sluice.worker_cpu_by_kind.items())
            },
            "redis_cpu_s_per_article": (
                None
                if sluice.redis_cpu_seconds is None
                else _round(sluice.redis_cpu_seconds / articles)
            ),
            "busy_fraction": _round(cpu_busy / (sluice.seconds * cpu_slots)),
            "submit_to_stored": _latency(sluice.latencies),
            "pace_by_tenth": pace_by_tenth(sluice.finished_at or sluice.latencies),
            "enqueue_to_stored": _latency(sluice.latencies_from_enqueue),
            "queue_wait": _latency(sluice.queue_waits),
            "items_timed": sluice.items_timed,
            "states": sluice.states,
            "reasons": sluice.reasons,
            "worker_rss_kib": [{"process": n, "peak_kib": k} for n, k in sluice.worker_rss],
            "worker_rss_total_kib": sum(k for _, k in sluice.worker_rss),
            "worker_rss_along_run_kib": [
                {"final_share": share, "rss_kib": kib} for share, kib in sluice.rss_along_run
            ],
            "redis_bytes_per_queued_item": {
                stage: round(size) for stage, size in sluice.queue_bytes_per_item.items()
            },
            "redis": sluice.redis_url,
            "store": sluice.store_url,
        },
        "ratio": round(sluice_rate / base_rate, 4),
        "ratio_by_part": ratio_by_part(
            sluice.part_articles, sluice.part_seconds, baseline.part_articles, baseline.part_seconds
        ),
        # CPU time per article is less sensitive than wall time to other work on the machine.
        "cpu_ratio": round(
            (baseline.cpu_seconds / base_articles)
            / max(1e-9, sluice.worker_cpu_seconds / articles),
            4,
        ),
        "quality": quality,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.1f}{unit}" if value >= 10 else f"{value:.2f}{unit}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _states(states: dict[str, int], reasons: dict[str, int]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in sorted(states.items()))
    if reasons:
        text += " (" + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())) + ")"
    return text


def render(data: dict[str, Any]) -> str:
    """The human-readable report; its last line is ``ratio sluice/baseline: X.XX``."""
    base, sl = data["baseline"], data["sluice"]
    lines = [
        f"corpus: {data['corpus']} ({data['corpus_pages']} pages)",
        f"articles: {data['articles']} ({data['repeats']} of them varied repeats of corpus "
        "pages; duplicates among them show in the final states)",
        f"machine: {data['cpus']} cores, load average {data['load_average'][0]:.2f} before, "
        f"{data['load_average'][1]:.2f} after; commit {data['commit']}",
        "",
        f"baseline ({base['mode']}, {base['processes']} process(es), {base['articles']} "
        f"articles): {base['seconds']:.1f} s, {base['articles_per_second']:.2f} articles/s",
        f"  in parts (before, between and after sluice's): "
        f"{' + '.join(f'{s:.1f} s' for s in base.get('part_seconds', [])) or '-'}",
        f"  final states: {_states(base['states'], base['reasons'])}",
        f"  spaCy model load: {', '.join(f'{s:.2f} s' for s in base['model_load_s']) or '-'}",
        f"  submit to stored: p50 {_fmt(base['submit_to_stored']['p50_s'], ' s')}, "
        f"p95 {_fmt(base['submit_to_stored']['p95_s'], ' s')} (one commit at the end of "
        "each part)",
        "",
        f"sluice ({data['sluice_workers']}): "
        f"{sl['seconds']:.1f} s, {sl['articles_per_second']:.2f} articles/s",
        f"  in parts: {' + '.join(f'{s:.1f} s' for s in sl.get('part_seconds', [])) or '-'}",
        f"  submit (record items, save pages, enqueue): {sl['submit_seconds']:.2f} s",
        f"  final states: {_states(sl['states'], sl['reasons'])}",
        f"  submit to stored ({sl['items_timed']} items timed): "
        f"p50 {_fmt(sl['submit_to_stored']['p50_s'], ' s')}, "
        f"p95 {_fmt(sl['submit_to_stored']['p95_s'], ' s')} from their part's start; "
        f"p50 {_fmt(sl['enqueue_to_stored']['p50_s'], ' s')}, "
        f"p95 {_fmt(sl['enqueue_to_stored']['p95_s'], ' s')} from each item's enqueue",
        f"  waiting in queues per item: p50 {_fmt(sl['queue_wait']['p50_s'], ' s')}, "
        f"p95 {_fmt(sl['queue_wait']['p95_s'], ' s')}",
        "  articles/s in each tenth of the items, as they finished: "
        + (", ".join(_fmt(v) for v in sl["pace_by_tenth"]) or "-"),
        f"  CPU-stage slots busy running tasks: {100 * (sl['busy_fraction'] or 0):.0f}% "
        f"of {sl['cpu_slots']} slots x {sl['seconds']:.1f} s",
        "",
        "per stage, median ms per article (baseline | sluice task runtime | sluice stage body):",
    ]
    for stage in STAGE_ORDER:
        cells = [
            base["stages"].get(stage, {}).get("median_ms"),
            sl["task_runtimes"].get(stage, {}).get("median_ms"),
            sl["stage_bodies"].get(stage, {}).get("median_ms"),
        ]
        if any(c is not None for c in cells):
            lines.append(f"  {stage:<8} " + " | ".join(f"{_fmt(c):>8}" for c in cells))
    lines.append(
        f"  {'all':<8} {_fmt(1000 * base['compute_s_per_article']):>8} | "
        f"{_fmt(1000 * sl['compute_s_per_article']):>8} |          "
        "(mean compute per article)"
    )
    lines += [
        "",
        f"CPU seconds per article: baseline {base['cpu_s_per_article']:.3f} (all processes), "
        f"sluice workers {sl['worker_cpu_s_per_article']:.3f} "
        f"(+ {sl['producer_cpu_s_per_article']:.3f} in this process: submit, polling, events; "
        f"+ {_seconds(sl.get('redis_cpu_s_per_article'))} in the Redis server); "
        f"baseline/sluice CPU per article: {data['cpu_ratio']:.2f}",
    ]
    by_process = sl.get("worker_cpu_s_per_article_by_process") or {}
    if by_process:
        lines.append(
            "  sluice workers by process: "
            + ", ".join(f"{kind} {seconds:.4f}" for kind, seconds in by_process.items())
        )
    if sl["worker_rss_kib"]:
        lines.append("")
        # Pool processes are replaced as they go (SLUICE_WORKER_MAX_TASKS_PER_CHILD): in a
        # long run the peaks below never all coexisted; the totals along the run did.
        lines.append(
            f"worker memory, peak RSS of each of the {len(sl['worker_rss_kib'])} processes "
            "seen (replaced pool processes too):"
        )
        for row in sl["worker_rss_kib"]:
            lines.append(f"  {row['peak_kib'] / 1024:7.0f} MiB  {row['process']}")
    if sl["worker_rss_along_run_kib"]:
        along = ", ".join(
            f"{100 * row['final_share']:.0f}%: {row['rss_kib'] / 1024:.0f}"
            for row in sl["worker_rss_along_run_kib"]
        )
        lines.append(f"  total RSS (MiB) as items finish: {along}")
    if sl["redis_bytes_per_queued_item"]:
        per_item = ", ".join(
            f"{stage} {size / 1024:.1f} KiB"
            for stage, size in sorted(
                sl["redis_bytes_per_queued_item"].items(), key=lambda kv: STAGE_ORDER.index(kv[0])
            )
        )
        lines += ["", f"Redis memory per queued item (largest seen per queue): {per_item}"]
    q = data["quality"]
    lines += [
        "",
        f"quality: {q['same']} of {q['compared']} articles stored by both runs have the same "
        f"text and entities; text differs {q['text_differs']}, entities differ "
        f"{q['entities_differ']}, stored by the baseline only {q['only_baseline']}"
        + (f" (e.g. {', '.join(q['examples'])})" if q["examples"] else ""),
    ]
    if base["articles"] != data["articles"]:
        lines += [
            "",
            f"note: the baseline ran on the first {base['articles']} articles only; tagging costs "
            "differ a lot between articles, so the ratio compares different mixes",
        ]
    if data.get("ratio_by_part"):
        lines += [
            "",
            "ratio of each sluice part to the baseline parts around it: "
            + ", ".join(f"{r:.2f}" for r in data["ratio_by_part"]),
        ]
    lines += ["", f"ratio sluice/baseline: {data['ratio']:.2f}"]
    return "\n".join(lines)
