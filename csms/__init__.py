"""The CSMS project package: settings, ASGI entry point, Celery app, tenancy, OCPP-J protocol."""

from csms.celery import app as celery_app

__all__ = ("celery_app",)
