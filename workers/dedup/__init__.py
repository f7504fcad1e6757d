"""The cluster-wide duplicate index: exact and near duplicates decided atomically in Redis.

* :mod:`workers.dedup.index`: :class:`~workers.dedup.index.DedupIndex`, its key layout and
  its decisions;
* :mod:`workers.dedup.keys`: what an article is keyed on;
* :mod:`workers.dedup.scripts`: the Lua scripts (``lua/*.lua``), loaded once;
* :mod:`workers.dedup.rebuild`: the index rebuilt from the store.

The stage that uses it is :mod:`workers.stages.dedup`.
"""
