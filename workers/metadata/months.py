"""Month names as pages write them, in the languages whose days read "4 March 2026" or
"March 4, 2026": English, French, German, Spanish, Italian, Portuguese and Dutch.

Full names and the abbreviations that are no common word in another of these languages
(Portuguese ``set`` and ``out`` are left out: "5 out 2024" is more likely English).
"""

from __future__ import annotations

import unicodedata

__all__ = ["MONTH_PATTERN", "month_number"]

# Each month's names, space-separated.
_NAMES = (
    "january jan janvier janv januar jänner enero ene gennaio gen janeiro januari",
    "february feb février févr fevrier fevr februar febrero febbraio fevereiro fev februari",
    "march mar mars märz maerz mär marzo março marco maart mrt",
    "april apr avril avr abril abr aprile",
    "may mai mayo maggio mag maio mei",
    "june jun juin juni junio giugno giu junho",
    "july jul juillet juil juli julio luglio lug julho",
    "august aug août aout agosto ago augustus",
    "september sep sept septembre septiembre setiembre settembre setembro",
    "october oct octobre oktober okt octubre ottobre ott outubro",
    "november nov novembre noviembre novembro",
    "december dec décembre déc decembre dezember dez diciembre dic dicembre dezembro",
)
_NUMBERS = {name: number for number, names in enumerate(_NAMES, 1) for name in names.split()}
# Longest first, so that "march" is not read as "mar" followed by "ch".
MONTH_PATTERN = "|".join(sorted(_NUMBERS, key=len, reverse=True))


def month_number(name: str) -> int:
    """1 to 12 for a name :data:`MONTH_PATTERN` matched (any case, any trailing dot)."""
    return _NUMBERS[unicodedata.normalize("NFC", name).lower().rstrip(".")]
