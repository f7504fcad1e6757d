"""Every article gets a language, and entities only from a pipeline of that language: an
English, a French and a German page submitted without ``--language``, on real workers."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.warcs import article_html
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

FRENCH = """
<p>La mairie de Lyon a présenté lundi un plan de rénovation des berges du Rhône, qui doit
s'étaler sur les six prochaines années. Selon Grégory Doucet, le maire de la ville, les
travaux commenceront au printemps près du pont de la Guillotière et remonteront ensuite
vers le quartier de la Croix-Rousse.</p>
<p>Le projet, estimé à quarante millions d'euros, sera financé en partie par la Banque
européenne d'investissement et par la région Auvergne-Rhône-Alpes. Les associations de
riverains réclament depuis longtemps davantage d'ombre et de bancs le long du fleuve, ainsi
que des pistes cyclables séparées des promenades piétonnes.</p>
<p>Marie Lefèvre, urbaniste à l'université Lumière Lyon 2, estime que la ville doit aussi
penser aux crues : « Les berges sont faites pour être inondées de temps en temps, et les
aménagements doivent le supporter », a-t-elle expliqué lors de la réunion publique.</p>
"""

GERMAN = """
<p>Die Stadt Freiburg will bis zum Jahr 2030 alle städtischen Gebäude mit Solaranlagen
ausstatten. Das hat der Gemeinderat am Dienstagabend nach einer langen Debatte mit großer
Mehrheit beschlossen. Oberbürgermeister Martin Horn sprach von einem wichtigen Schritt für
den Klimaschutz in der Region.</p>
<p>Die Kosten von rund fünfundzwanzig Millionen Euro sollen zum Teil aus Fördermitteln des
Landes Baden-Württemberg kommen. Kritiker bemängeln, dass viele Schuldächer erst saniert
werden müssen, bevor dort überhaupt Module montiert werden können.</p>
<p>Die Stadtwerke rechnen damit, dass die neuen Anlagen etwa ein Fünftel des Strombedarfs
der Verwaltung decken werden. Die ersten Arbeiten beginnen im Herbst an zwei Gymnasien im
Stadtteil Wiehre.</p>
"""


def _page(title: str, byline: str, body: str) -> bytes:
    # No lang attribute: the language must come from the text.
    return (
        f"<html><body><article><h1>{title}</h1><p>{byline}</p>{body}</article></body></html>"
    ).encode()


def test_languages_are_detected_and_entities_come_from_their_own_pipeline(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    english = web.route("/languages/en.html", Response(body=article_html(401).encode()))
    french = web.route(
        "/languages/fr.html",
        Response(body=_page("Les berges du Rhône", "Publié le 3 mars 2025", FRENCH)),
    )
    german = web.route(
        "/languages/de.html",
        Response(body=_page("Solar in Freiburg", "Veröffentlicht am 4. März 2025", GERMAN)),
    )
    result = workers.sluice("submit", english, french, german, "--wait", "--timeout", "120")
    assert result.returncode == 0, result.stderr + workers.logs()
    job = result.stdout.split()[0]
    stored = {i["source"]: store.article(i["article_id"]) for i in store.items(job)}

    for url, code in ((english, "en"), (french, "fr"), (german, "de")):
        assert stored[url]["language"] == code
        assert stored[url]["language_source"] == "detected"
    # Each page's day, as it writes it in its own language.
    assert (stored[french]["date"], stored[german]["date"]) == ("2025-03-03", "2025-03-04")

    assert stored[english]["entities_skipped"] is None
    fr = stored[french]
    assert fr["entities_skipped"] is None
    fr_entities = {(t, label) for t, label, _, _ in store.entities(fr["id"])}
    # WikiNER labels (PER, LOC, ORG, MISC): the French pipeline's, never English OntoNotes.
    assert {label for _, label in fr_entities} <= {"PER", "LOC", "ORG", "MISC"}
    assert ("Grégory Doucet", "PER") in fr_entities
    assert ("Lyon", "LOC") in fr_entities

    de = stored[german]
    assert store.entities(de["id"]) == []
    assert de["entities_skipped"] == "no_model_for_language"
    shown = workers.sluice("articles", "show", de["id"])
    assert "no_model_for_language" in shown.stdout, shown.stderr
    assert "language source: detected" in shown.stdout
    status = json.loads(workers.sluice("status", job, "--json").stdout)
    assert status["articles"] == {
        "languages": {"en": 1, "fr": 1, "de": 1},
        "entities_skipped": {"no_model_for_language": 1},
    }

    exported = workers.sluice("export", "--job", job, "--language", "fr")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [row["url"] for row in rows] == [french], exported.stderr

    # PERSON finds the French pipeline's PER: one filter across languages.
    found = workers.sluice(
        "articles",
        "search",
        "rénovation",
        "--entity",
        "PERSON:Grégory Doucet",
        "--language",
        "fr",
        "--json",
    )
    assert found.returncode == 0, found.stderr
    assert [hit["id"] for hit in json.loads(found.stdout)] == [fr["id"]]
