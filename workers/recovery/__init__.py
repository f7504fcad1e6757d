"""Getting items past dead workers and lost messages: delivery counts and dead-lettering
(:mod:`.attempts`, :mod:`.item_failed`), and the one lease per item in transit, renewed by
its holder (:mod:`.keeper`) and sent on when it expires (:mod:`.reconciler`)."""
