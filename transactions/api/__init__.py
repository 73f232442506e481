"""Tenant API of the transactions app (routes registered in ``csms.api.urls``)."""
