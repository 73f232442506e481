"""Services of the webhooks app. Other apps emit events with :func:`event_emit`."""

from csms.webhooks.services.events import event_emit, event_subscribers

__all__ = ["event_emit", "event_subscribers"]
