"""Prometheus metrics at ``/metrics`` (issue 20 §5), with prometheus-client.

* :mod:`~csms.metrics.ocpp` — what the OCPP path counts as it goes: connections by tenant,
  frames in and out by action and outcome, call latency, commands by outcome, group-commit
  batch sizes, admission deferrals. In-memory only: no database work per frame.
* :mod:`~csms.metrics.sampler` — what each process samples every few seconds about itself:
  its database pool and the work under way.
* :mod:`~csms.metrics.readings` — what the scrape itself reads once for the whole platform:
  outbox depth, webhook backlog, Celery queue length.
* :mod:`~csms.metrics.processes` — several daphne processes, one answer: prometheus-client's
  multiprocess mode, on when ``PROMETHEUS_MULTIPROC_DIR`` is set (``manage.py serve`` sets it
  up and empties it on start), sums every process's files at each scrape.
* :mod:`~csms.metrics.access` and :mod:`~csms.metrics.views` — the endpoint, for a bearer
  token (``METRICS_TOKEN``) or an allowed network (``METRICS_ALLOWED_NETWORKS``).

Nothing here is imported by this package itself: the protocol layer imports ``ocpp`` alone.
"""
