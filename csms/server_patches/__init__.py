"""Small patches to the ASGI server (daphne), each installed once by ``csms.asgi``."""
