"""ASGI entry point: HTTP through Django, OCPP-J WebSockets through Channels.

Charge points send no ``Origin`` header, so no origin validator guards the OCPP route.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from csms import server_patches  # noqa: E402
from csms.forwarded import ForwardedClientMiddleware  # noqa: E402
from csms.metrics import processes, sampler  # noqa: E402
from csms.ocpp import schemas  # noqa: E402
from csms.routing import websocket_urlpatterns  # noqa: E402
from csms.runtime import tune_garbage_collector, tune_interpreter_lock  # noqa: E402

server_patches.install()  # handshake denials, autobahn debug output, TLS in the scope
schemas.warm_up()

processes.exit_register()  # several daphne processes: this one's connections leave the sum
# X-Forwarded-For is believed from TRUSTED_PROXIES only (daphne runs without --proxy-headers).
application = sampler.sampled(
    ForwardedClientMiddleware(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": URLRouter(websocket_urlpatterns),
            }
        )
    )
)
tune_interpreter_lock()
tune_garbage_collector()  # last: the start-up heap is complete
