"""The Celery application.

Configuration lives in Django settings under the ``CELERY_`` namespace (see ``csms.settings``),
so the broker follows ``REDIS_URL`` in production and the embedded filesystem broker otherwise.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")

app = Celery("csms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
