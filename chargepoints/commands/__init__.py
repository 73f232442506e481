"""Central-System-initiated commands: dispatch, the outbox state machine, the hooks the owning
apps register, and waiting for an answer."""
