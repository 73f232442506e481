"""Writes of the chargepoints app on charge points, their connectors and what they report, one
module per subject (``<entity>_<action>``, keyword-only). The bigger subjects have packages of
their own: ``authorization``, ``commands``, ``configuration``, ``reservations``."""
