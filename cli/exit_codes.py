"""Exit codes of ``sluice submit`` for its inputs (others live with their commands).

=====  ===========================================================================
0      everything was submitted (and, with --wait, every item ended well)
1      with --wait: some items failed
2      bad usage, or no source of a --feed/--sitemap expansion could be read
3      with --wait: the timeout passed first
4      nothing to submit
6      an input file (--file, --text, --html) could not be read or decoded
7      some --feed/--sitemap sources failed or hit a limit; the rest was submitted
130    interrupted
=====  ===========================================================================
"""

from __future__ import annotations

__all__ = ["EXIT_INPUT_FILE", "EXIT_SOME_SOURCES_FAILED"]

EXIT_INPUT_FILE = 6
EXIT_SOME_SOURCES_FAILED = 7
