"""Which workers may serve: a worker serves only its store's cluster (:mod:`.cluster_guard`)
and holds its node name alone across the cluster (:mod:`.node_lease`, :mod:`.node_names`)."""
