"""Getting items past dead workers and lost messages: delivery counts and dead-lettering
(:mod:`.attempts`, :mod:`.item_failed`), messages a dead worker held (:mod:`.held_messages`)
and items whose message was lost in transit (:mod:`.lost_items`)."""
