"""shared.fingerprints: what counts as the same words, and how well signatures estimate."""

from __future__ import annotations

import pytest

from sluice.shared.fingerprints import NearDupLayout, fingerprint, shingle_hashes, words
from tests.dedup.texts import article_text, near_copies

LAYOUT = NearDupLayout()


def _jaccard(a: str, b: str, size: int = 5) -> float:
    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = words(text)
        return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}

    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def _matches(a: bytes, b: bytes) -> int:
    return sum(p == q for p, q in zip(a, b, strict=True))


def test_case_quotes_punctuation_and_spacing_do_not_count() -> None:
    text = "“Of course,” he said, ‘we co-operate’.\n\nThe  ISW   agreed."
    plain = 'of course he said "we co operate" the isw agreed'
    assert words(text) == words(plain)
    assert fingerprint(text, LAYOUT) == fingerprint(plain, LAYOUT)


def test_scripts_without_spaces_count_characters() -> None:
    assert words("不正に改造したiPhone") == ["不", "正", "に", "改", "造", "し", "た", "iphone"]
    assert words("Ça va, Zoë?") == ["ça", "va", "zoë"]


def test_short_and_empty_texts_have_fingerprints() -> None:
    assert len(shingle_hashes("two words", 5)) == 1
    assert len(shingle_hashes("", 5)) == 0
    assert len(fingerprint("", LAYOUT).signature) == LAYOUT.num_perm
    assert len(fingerprint("two words", LAYOUT).bands) == LAYOUT.bands


@pytest.mark.parametrize("seed", range(5))
def test_signatures_estimate_the_jaccard_similarity(seed: int) -> None:
    text = article_text(seed)
    original = fingerprint(text, LAYOUT)
    for copy in near_copies(text):
        estimate = LAYOUT.estimate(
            _matches(original.signature, fingerprint(copy, LAYOUT).signature)
        )
        # 60 one-byte minima: the standard error is at most 0.065.
        assert abs(estimate - _jaccard(text, copy)) < 0.25
    other = fingerprint(article_text(seed + 100), LAYOUT)
    assert LAYOUT.estimate(_matches(original.signature, other.signature)) < 0.1


def test_near_copies_share_a_band_and_unrelated_texts_do_not() -> None:
    for seed in range(20):
        text = article_text(seed)
        bands = set(fingerprint(text, LAYOUT).bands)
        for copy in near_copies(text):
            assert bands & set(fingerprint(copy, LAYOUT).bands)
        assert not bands & set(fingerprint(article_text(seed + 1000), LAYOUT).bands)


def test_least_matches_is_exactly_the_threshold() -> None:
    for threshold in (0.3, 0.5, 0.6, 0.75, 0.9):
        layout = NearDupLayout(threshold=threshold)
        assert layout.estimate(layout.min_matches) >= threshold
        assert layout.estimate(layout.min_matches - 1) < threshold
    assert LAYOUT.estimate(LAYOUT.num_perm) == 1.0


def test_layout_stamp_names_what_makes_fingerprints_comparable() -> None:
    assert NearDupLayout().stamp != NearDupLayout(shingle_words=4).stamp
    assert NearDupLayout().stamp != NearDupLayout(bands=10, rows=6).stamp
    # The threshold only changes decisions, not what is stored.
    assert NearDupLayout().stamp == NearDupLayout(threshold=0.9).stamp
