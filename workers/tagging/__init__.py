"""Named entities for the tag stage: the spaCy model and its chunking (:mod:`.entities`) and
tagging the next waiting articles in one batch (:mod:`.tag_ahead`)."""
