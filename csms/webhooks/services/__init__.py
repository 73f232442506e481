"""Services of the webhooks app. Other apps publish domain events (csms.events); the webhooks'
receivers record them with :func:`event_emit`."""

from csms.webhooks.services.events import event_emit, event_subscribers

__all__ = ["event_emit", "event_subscribers"]
