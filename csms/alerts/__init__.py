"""Alerts (issue 20 §3): rules per tenant, alerts opened and closed by domain events.

A rule names a condition (``AlertKind``); the receivers (``receivers.py``) turn the event bus's
events into ``alert_raise`` / ``alert_clear`` calls with plain values. An alert is *debounced*:
one open alert per rule and subject (a charge point, a connector, a command action), whatever
the number of events behind it, closed when its condition clears. "Offline longer than N
minutes" waits as *pending* and opens only when a charge point stays away that long, so a
reconnect storm opens nothing. Notifications leave after commit, by Celery: e-mail through
Django's e-mail backend, one digest per rule and run (never one mail per charge point of a
storm), and a webhook event per alert (``alert.opened`` / ``alert.closed``).
"""
