"""Tenant API of the firmware app (routes registered in ``csms.api.urls``)."""
