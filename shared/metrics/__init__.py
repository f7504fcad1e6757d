"""Pipeline metrics in Prometheus format, beyond what Flower exports.

Workers count fetch outcomes per host (:func:`count_fetch_outcome`); ``sluice metrics``
serves the rest from Redis, the store and the task events (:mod:`.exporter`).
"""
