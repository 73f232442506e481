"""``GET /metrics``: the Prometheus text format, for an allowed scraper only."""

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from csms.metrics import processes, sampler
from csms.metrics.access import metrics_access_allowed
from csms.metrics.readings import PlatformReadings

# The platform readings in a registry of their own: never summed over processes.
_readings = CollectorRegistry(auto_describe=False)
_readings.register(PlatformReadings())


def exposition() -> bytes:
    """Every metric: the processes' own (summed over the multiprocess directory when there is
    one, this process's otherwise) and the platform readings, in the text format."""
    sampler.sample()  # this process's pool and work as of now
    path = processes.directory()
    if path is None:
        own = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    return own + generate_latest(_readings)


async def metrics(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": "Method not allowed."}, status=405, headers={"Allow": "GET"})
    if not metrics_access_allowed(request):
        return JsonResponse(
            {
                "detail": "Metrics are for an allowed network or a bearer token "
                "(METRICS_ALLOWED_NETWORKS, METRICS_TOKEN)."
            },
            status=403,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    # The readings run statements and ask the broker: in a thread, never on the event loop.
    body = await sync_to_async(exposition)()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
