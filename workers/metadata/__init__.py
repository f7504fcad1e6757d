"""Page metadata a reader can trust: the headline without the site's name, people's names
as authors, the publication date as ISO 8601 with its offset."""

from sluice.workers.metadata.page import PageMetadata, page_metadata

__all__ = ["PageMetadata", "page_metadata"]
