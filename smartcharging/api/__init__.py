"""Tenant API of the smartcharging app."""
