"""The OCPP 1.6-J protocol layer: no models, no app code; the apps plug in handlers and a backend.

In the order a charge point meets them:

* ``consumer`` — the WebSocket: accept or refuse, receive, send;
* ``handshake`` — identity, subprotocol and credentials, presence, the takeover notice;
* ``pipeline`` — one inbound frame top to bottom: parse, admit, validate/repair, execute,
  run the handler, frame the answer or the error (with ``frames``, ``router``, ``compat``,
  ``schemas``, ``errors``);
* ``execution`` — where that work runs: database threads, group commit, admission control;
* ``outbound`` — the Central System's own CALLs, one outstanding at a time;
* ``context`` — the session and call context handlers receive; ``backend`` — the interface of
  the app side (``chargepoints.ocpp_backend``).
"""
