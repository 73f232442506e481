"""REST API of the webhooks app."""
