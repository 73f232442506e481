"""Tenant API of the chargepoints app (routes registered in ``csms.api.urls``)."""
