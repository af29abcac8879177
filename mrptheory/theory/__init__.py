"""Theory objects (closed forms and recursions) that take numbers, each with an empirical twin
in ``mrptheory.train`` of the same call shape."""
