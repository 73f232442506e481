"""Writes of the smartcharging app: profiles, what charge points installed, sites."""
