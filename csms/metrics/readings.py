"""What a scrape reads once for the whole platform, whichever process answers it: the outbox of
commands, the webhook backlog, the Celery queues. A few statements per scrape (every 15 s or
so), never per frame; values every process would read alike, so they are not summed over
processes but read by the one answering.

A reading that fails (the broker down, say) is left out of the answer and
``csms_metrics_reading_ok`` says which, so that the rest still reaches Prometheus.
"""

import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Count
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from chargepoints.models import Command, CommandStatus
from csms.webhooks.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# Outbox states whose commands are still under way.
OUTBOX_STATUSES = (CommandStatus.QUEUED, CommandStatus.SENT)
BROKER_TIMEOUT_SECONDS = 2.0


def outbox_depth() -> Iterator[Metric]:
    by_status = dict(
        Command.objects.filter(status__in=OUTBOX_STATUSES)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    family = GaugeMetricFamily(
        "csms_commands_outbox",
        "Central-System-initiated commands in the outbox: queued (waiting for their charge "
        "point) or sent (waiting for its answer).",
        labels=["status"],
    )
    for status in OUTBOX_STATUSES:
        family.add_metric([status.value], by_status.get(status, 0))
    yield family


def webhook_backlog() -> Iterator[Metric]:
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
    yield GaugeMetricFamily(
        "csms_webhook_deliveries_pending",
        "Webhook deliveries not yet delivered nor given up (the backlog).",
        value=pending,
    )


def celery_queue_lengths() -> Iterator[Metric]:
    """Messages waiting in each Celery queue the workers consume, as the broker counts them
    (Redis, or the embedded filesystem broker)."""
    from csms.celery import app

    family = GaugeMetricFamily(
        "csms_celery_queue_length",
        "Celery tasks waiting in the broker, by queue.",
        labels=["queue"],
    )
    queues = list(app.amqp.queues) or [app.conf.task_default_queue]
    with app.connection_for_read() as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0.2, interval_step=0.2, timeout=BROKER_TIMEOUT_SECONDS
        )
        channel = connection.default_channel
        for queue in queues:
            family.add_metric([queue], _queue_size(channel, queue))
    yield family


def _queue_size(channel: Any, queue: str) -> int:
    # A passive declare only asks; a queue nobody wrote to yet does not exist (kombu's Redis
    # transport removes an emptied list), which means nothing waits in it.
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:
        return 0


READINGS: dict[str, Callable[[], Iterator[Metric]]] = {
    "outbox": outbox_depth,
    "webhook_backlog": webhook_backlog,
    "celery_queues": celery_queue_lengths,
}


class PlatformReadings(Collector):
    """A prometheus-client collector running every reading at collection time."""

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(
            "csms_metrics_reading_ok",
            "Whether each platform reading of this scrape succeeded (1) or failed (0).",
            labels=["reading"],
        )
        for name, reading in READINGS.items():
            try:
                families = list(reading())
            except Exception:
                logger.exception("metrics reading %s failed", name)
                ok.add_metric([name], 0)
                continue
            ok.add_metric([name], 1)
            yield from families
        yield ok
