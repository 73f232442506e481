"""Charge point configuration: the catalogue of OCPP 1.6 keys and their value types, the mirror
of what charge points report, the baselines a tenant wants, drift, and applying them."""
