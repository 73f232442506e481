"""``/api/v1/alerts/``: the tenant's alerts, read only (W20b's list conventions apply)."""
