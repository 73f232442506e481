"""Webhooks for integrators: signed, retried, never lost.

What a receiver gets, for every event its endpoint subscribes to (``event_types``; empty means
all but the opt-in ``transaction.meter_values``):

* ``POST`` of ``{"id", "type", "created_at", "tenant", "data"}`` (JSON, snake_case; a charge
  point is named by its identity), signed per Standard Webhooks: ``webhook-id`` (the event id,
  the same on retries and replays: deduplicate on it), ``webhook-timestamp`` and
  ``webhook-signature`` (HMAC-SHA256 with the endpoint's ``whsec_`` secret). Verify with any
  Standard Webhooks library, e.g. ``standardwebhooks.Webhook(secret).verify(body, headers)``.
* Any 2xx answer within ``WEBHOOKS_TIMEOUT_SECONDS`` is a delivery; anything else (redirects
  included: they are not followed) is retried with exponential backoff and jitter for about a
  day (``csms.webhooks.backoff``), then given up. An endpoint whose deliveries keep being given
  up is disabled, with an ``endpoint.disabled`` event.
* The events of one charge point arrive in order: a later one is not sent before the earlier
  one was delivered or given up.

How it is built: ``receivers`` subscribes to the domain events of the event bus (csms.events)
and turns each into a webhook event; ``services.events.event_emit`` writes the event (the
outbox row) and one delivery per subscribed endpoint in the transaction of the change; Celery
sends after commit (``services.deliveries``); a beat task re-scans the outbox for deliveries
whose task was lost.
"""
