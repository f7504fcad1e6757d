"""Entity labels of different pipelines, matched as the same kind where they are.

English pipelines label with OntoNotes (``PERSON``, ``GPE`` for countries and cities,
``LOC`` for other places, ``ORG``, ``NORP``, ``DATE`` …); the French, German, Spanish and
other small spaCy pipelines with WikiNER (``PER``, ``LOC`` for every place, ``ORG``,
``MISC``). Stored entities keep the label their pipeline gave. A filter on a label
(``--entity PERSON:x``) matches every label of its kind: ``PERSON`` and ``PER`` are one
kind, and so are ``GPE`` and ``LOC`` (a French ``LOC`` may be a city, an English ``LOC`` is
a place an English ``GPE`` query should not miss). Every other label matches only itself.
"""

from __future__ import annotations

__all__ = ["matching_labels"]

_KINDS: tuple[frozenset[str], ...] = (
    frozenset({"PERSON", "PER"}),
    frozenset({"GPE", "LOC"}),
)


def matching_labels(label: str) -> tuple[str, ...]:
    """The stored labels a filter on ``label`` matches (itself first), in upper case."""
    wanted = label.strip().upper()
    for kind in _KINDS:
        if wanted in kind:
            return (wanted, *sorted(kind - {wanted}))
    return (wanted,)
