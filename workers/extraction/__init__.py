"""What the extract stage needs beyond trafilatura: a page's bytes as text
(:mod:`.page_text`). Title, author and date signals live in :mod:`workers.metadata`."""
