"""Background work: the outbox worker (`worker`), its clock (`clock`) and backoff (`backoff`)."""
