"""Central-System-initiated commands: dispatch, the payload checks the owning apps register,
the outbox state machine (which publishes each command's end on the event bus), and waiting
for an answer."""
