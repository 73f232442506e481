"""Writes of the firmware app, one module per entity (``<entity>_<action>``, keyword-only)."""
